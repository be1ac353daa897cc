package smtperr

// The replies both directions use. Handlers return a copy with WithDetail
// when the log needs more than the peer may see.
var (
	// RFC 5321 §4.2.3 / RFC 3463 codes.
	OK                   = New(250, Enhanced{2, 0, 0}, "Ok")
	Closing              = New(221, Enhanced{2, 0, 0}, "Bye")
	ServiceUnavailable   = New(421, Enhanced{4, 3, 2}, "Service not available, closing transmission channel")
	LocalError           = New(451, Enhanced{4, 3, 0}, "Requested action aborted: local error in processing")
	QueueFull            = New(452, Enhanced{4, 3, 1}, "Insufficient system storage")
	TooManyRecipients    = New(452, Enhanced{4, 5, 3}, "Too many recipients")
	TooManyMessages      = New(421, Enhanced{4, 7, 0}, "Too many messages for this session")
	TooManyConnections   = New(421, Enhanced{4, 7, 0}, "Too many concurrent SMTP connections from this IP address; please try again later.")
	SyntaxError          = New(501, Enhanced{5, 5, 4}, "Syntax error in parameters or arguments")
	BadSequence          = New(503, Enhanced{5, 5, 1}, "Bad sequence of commands")
	RelayDenied          = New(550, Enhanced{5, 7, 1}, "Relaying denied")
	AccessDenied         = New(554, Enhanced{5, 7, 1}, "Access denied")
	MessageTooBig        = New(552, Enhanced{5, 3, 4}, "Message size exceeds fixed maximum message size")
	InvalidAddress       = New(553, Enhanced{5, 1, 3}, "Invalid address")
	TLSRequired          = New(530, Enhanced{5, 7, 0}, "Must issue a STARTTLS command first")
	TimeoutClosing       = New(421, Enhanced{4, 4, 2}, "Timeout exceeded, closing connection")
	MessageLoopDetected  = New(554, Enhanced{5, 4, 6}, "Routing loop detected")
	BareLineFeed         = New(554, Enhanced{5, 6, 0}, "Message contains bare LF or NUL and was refused")
	RecipientRejected    = New(550, Enhanced{5, 1, 1}, "Recipient address rejected")
	HeaderTooLong        = New(552, Enhanced{5, 3, 4}, "Message header is too long")
	ConnectionRefusedHAT = New(554, Enhanced{5, 7, 1}, "Access denied")
)

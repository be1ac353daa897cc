// Package queue is the durable message queue between the listeners and the
// delivery engine. It keeps its own files under DATA/queue, not config.db:
// one bbolt file lock and one fsync per write transaction would serialise
// all mail.
//
// A message is one immutable file, msg/<MID>.msg, holding the bytes the client
// sent followed by a trailer with the envelope (sender, recipients, ICID,
// listener, sender group, policy, verdicts, the header lines the gateway adds)
// and checksums. It is written under a dot name in msg/, renamed to its
// final name once whole, fsynced, and the directory is fsynced before
// Commit returns, so a listener that answers 250 after Commit never loses
// the message to SIGKILL or power loss. Directory fsyncs of concurrent
// commits are shared (group commit). Mutable delivery state lives beside it
// in msg/<MID>.st, replaced atomically.
//
// Message, connection and delivery IDs (MID, ICID, DCID) come from counters
// that reserve blocks on disk, so an ID is never handed out twice across
// restarts.
//
// The package imports nothing of ours.
package queue

package spf

// Conformance is the appliance's SPF/SIDF conformance level (SPEC.md §4).
type Conformance uint8

// The three levels. SIDFCompatible is the appliance default.
const (
	SPFOnly Conformance = iota
	SIDFCompatible
	SIDFStrict
)

// String is the x-conformance= token of Received-SPF:.
func (c Conformance) String() string {
	switch c {
	case SPFOnly:
		return "spf_only"
	case SIDFCompatible:
		return "sidf_compatible"
	case SIDFStrict:
		return "sidf_strict"
	}
	return "unknown"
}

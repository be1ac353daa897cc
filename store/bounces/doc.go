// Package bounces holds the bounce profiles bounceconfig edits (ESA-CLI.md
// §10.2): how long and how often a message that cannot be delivered is
// retried, and whether and to whom hard bounce and delay warning messages
// are sent. The Default profile is always present; the other profiles may
// leave each on/off setting to it ("Default"), and Lookup resolves a
// profile to the plain values the delivery engine consumes, with pure
// helpers for its retry schedule, give-up and warning decisions.
//
// The types are plain data so the store can keep them as a table like any
// other. The package imports nothing of ours.
package bounces

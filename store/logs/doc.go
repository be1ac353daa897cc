// Package logs is the appliance's logging: every subsystem writes appliance
// format lines ("Mon Feb  4 20:08:47 2019 Info: ...") through it, the log
// subscriptions from the configuration decide which files receive them, files
// roll over by size and time, and readers for grep and tail span the rolled
// files of a subscription.
//
// It imports only the store's configuration types.
package logs

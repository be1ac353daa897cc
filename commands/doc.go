// Package commands holds one small file per appliance command (logconfig.go,
// commit.go, daneverify.go, ...). Each asks its questions through the shell's
// wizard kit, edits the session's pending configuration in the store, and
// calls a package below (dnssec, delivery, store/logs) for real work. No
// sockets and no bbolt here.
package commands

// Package store owns the appliance's data directory: the bbolt file with the
// typed configuration tables, the sessions that hold pending changes, commit /
// clearchanges / rollback, and the whole-configuration file format shared by
// saveconfig, showconfig and loadconfig.
//
// Data directory layout:
//
//	config.db       bbolt: buckets meta (schema, secret key), tables and
//	                tablever (each table's text form and version), history
//	                and histcfg (rollback points), state (runtime state)
//	esa.pid         PID of the process holding config.db's lock
//	configuration/  saveconfig output, loadconfig input
//	logs/           owned by package store/logs
//
// Each field of Config is a table (see tables in tables.go): one line there
// gives a new table storage, versioning, conflict checks, copying and its
// XML text form. Validate is the one place configuration rules live.
//
// The committed configuration is an immutable snapshot (Snapshot): a commit
// installs a new one and never changes an old one, so readers on hot paths
// share it without copying. OnCommit hooks run before Commit returns, in
// commit order; Subscribe subscribers on goroutines of their own, so a slow
// one holds up no commit. Open runs bbolt's consistency check; a damaged
// file gives a *DamagedError, never the factory defaults.
//
// It must not import shell, commands, delivery or cmd.
package store

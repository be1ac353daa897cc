// Package store owns the appliance's data directory: the bbolt file with the
// typed configuration tables, the sessions that hold pending changes, commit /
// clearchanges / rollback, and the whole-configuration file format shared by
// saveconfig, showconfig and loadconfig.
//
// It must not import shell, commands, delivery or cmd.
package store

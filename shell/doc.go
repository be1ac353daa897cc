// Package shell is how people talk to the appliance: the line editor
// (readline on a terminal, a plain line reader on a pipe or SSH channel), the
// read-eval loop, the command table type that gives dispatch, help and
// completion, and the wizard kit (operation menus, questions with defaults,
// validators) every configuration command uses.
//
// It must not import commands, store, delivery or cmd: commands plug in
// through the Command table.
package shell

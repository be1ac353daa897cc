package queue

import "syscall"

// oNoAtime opens a message without an atime update (Linux O_NOATIME).
const oNoAtime = syscall.O_NOATIME

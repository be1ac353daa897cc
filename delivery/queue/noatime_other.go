//go:build !linux

package queue

const oNoAtime = 0

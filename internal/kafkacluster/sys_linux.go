package kafkacluster

import "syscall"

// sysProcAttr puts a node in its own process group, so a Ctrl-C in the
// parent's terminal reaches only the parent, and asks the kernel to kill the
// node if the parent dies first (SIGKILL: a JVM given SIGTERM would first
// try a controlled shutdown with a quorum that may be gone), so a crashed
// test leaves no JVM behind.
//
// Linux delivers Pdeathsig when the thread that forked the child exits; the
// Go runtime keeps its threads alive, except those of goroutines that exit
// while locked with runtime.LockOSThread, so nodes must not be started from
// such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

package zkserver

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C in the
// parent's terminal reaches only the parent, and asks the kernel to SIGTERM
// the server if the parent dies first. Start must not be called from a
// goroutine locked to its thread (runtime.LockOSThread) that then exits:
// Linux sends Pdeathsig when the forking thread exits.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

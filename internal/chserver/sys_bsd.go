//go:build unix && !linux

package chserver

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C in
// the parent's terminal reaches only the parent, which then stops the
// server cleanly.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// parentPID is not available here; callers fall back to processAlive.
func parentPID(int) (int, bool) { return 0, false }

// zombie cannot tell here; signal 0 treats zombies as alive.
func zombie(int) bool { return false }

package chserver

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts the server in its own process group, so a Ctrl-C in
// the parent's terminal reaches only the parent (which then stops the
// server cleanly), and asks the kernel to SIGTERM the server if the parent
// dies first.
//
// Linux delivers Pdeathsig when the thread that forked the child exits.
// The Go runtime keeps its threads alive, except those of goroutines that
// exit while locked with runtime.LockOSThread, so Start must not be called
// from such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// procStat returns the fields of /proc/PID/stat after the command name:
// state, ppid, ...
func procStat(pid int) ([]string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	// pid (comm) state ppid ...; comm may contain spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	return f, len(f) >= 2
}

// zombie reports whether pid has exited but not yet been reaped.
func zombie(pid int) bool {
	f, ok := procStat(pid)
	return ok && f[0] == "Z"
}

// parentPID returns the parent of pid as seen in /proc.
func parentPID(pid int) (int, bool) {
	f, ok := procStat(pid)
	if !ok {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, false
	}
	return ppid, true
}

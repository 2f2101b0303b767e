//go:build unix

package chserver

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// statusLocked reports whether a process holds the flock that ClickHouse
// takes on its status file while it runs. A missing file is not locked.
func statusLocked(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("chserver: open status file %s: %w", path, err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("chserver: lock status file %s: %w", path, err)
	}
	// Closing the file releases the lock we just took.
	return false, nil
}

// processAlive reports whether a process with this pid exists and has not
// yet exited (an unreaped zombie is not alive).
func processAlive(pid int) bool {
	if pid <= 0 || zombie(pid) {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// signalPID sends sig to pid; a process that is already gone is no error.
func signalPID(pid int, sig syscall.Signal) error {
	err := syscall.Kill(pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("chserver: send %v to pid %d: %w", sig, pid, err)
	}
	return nil
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

//go:build !unix

package chserver

import (
	"errors"
	"os"
	"syscall"
)

// ClickHouse runs only on Unix-like systems; these stubs keep the package
// compiling elsewhere.

type signalNum int

const (
	sigTerm signalNum = 15
	sigKill signalNum = 9
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func statusLocked(string) (bool, error) { return false, nil }

func processAlive(int) bool { return false }

func parentPID(int) (int, bool) { return 0, false }

func signalPID(pid int, _ signalNum) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

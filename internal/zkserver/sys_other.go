//go:build !linux

package zkserver

import "syscall"

// sysProcAttr: no parent-death signal outside Linux; Stop or Kill the
// server before the parent exits.
func sysProcAttr() *syscall.SysProcAttr { return nil }

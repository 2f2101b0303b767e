//go:build !linux

package kafkacluster

import "syscall"

// sysProcAttr: elsewhere nodes run as plain children (Vetrina's tests run
// on Linux, where the kernel also kills them with their parent).
func sysProcAttr() *syscall.SysProcAttr { return nil }

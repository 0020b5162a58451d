package main

import "syscall"

// setParentDeathSignal asks Linux to send SIGTERM to this process when the
// thread that started it exits (prctl PR_SET_PDEATHSIG).
func setParentDeathSignal() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

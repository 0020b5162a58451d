//go:build !linux

package main

import "errors"

// setParentDeathSignal is Linux-only (prctl PR_SET_PDEATHSIG).
func setParentDeathSignal() error {
	return errors.New("K8S_CONTROLPLANE_PARENT_PID is only supported on Linux")
}

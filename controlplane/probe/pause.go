package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// pause behaves like upstream's build/pause/linux/pause.c: it holds the pod's
// namespaces open, exits 0 on SIGINT or SIGTERM, and, being PID 1 of the
// pod's PID namespace when that is shared, reaps every orphan on SIGCHLD so
// no zombie piles up.
func pause(stderr io.Writer) int {
	if os.Getpid() != 1 {
		// Not an error: pause.c says the same and goes on.
		fmt.Fprintln(stderr, "Warning: pause should be the first process")
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(stderr, "Shutting down, got signal: %v\n", sig)
		return 0
	}
	return 0
}

// reap collects every child that has exited; signals coalesce, so one
// SIGCHLD may stand for many children.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

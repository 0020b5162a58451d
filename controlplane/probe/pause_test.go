package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the pause process: with this variable set it
// starts one short-lived child it never waits for, then pauses. Only the
// SIGCHLD reaper can collect that child.
func TestMain(m *testing.M) {
	// The test binary doubles as the program itself (standin_test.go execs
	// it through symlinks).
	if os.Getenv("K8SSEC_PROBE_TEST_MAIN") == "1" {
		main()
	}
	if os.Getenv("K8SSEC_PROBE_TEST_PAUSE") == "1" {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{})
		if err != nil {
			os.Exit(99)
		}
		os.Stdout.WriteString(strconv.Itoa(pid) + "\n")
		os.Exit(pause(os.Stderr))
	}
	os.Exit(m.Run())
}

func TestPauseReapsAndExitsOnSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "K8SSEC_PROBE_TEST_PAUSE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var child string
	for i := 0; i < 100 && child == ""; i++ {
		time.Sleep(20 * time.Millisecond)
		child = strings.TrimSpace(stdout.String())
	}
	if child == "" {
		t.Fatal("pause helper did not report its child")
	}
	// A zombie keeps its /proc entry until reaped; the reaper removes it.
	gone := false
	for i := 0; i < 100 && !gone; i++ {
		time.Sleep(20 * time.Millisecond)
		_, err := os.Stat("/proc/" + child)
		gone = os.IsNotExist(err)
	}
	if !gone {
		st, _ := os.ReadFile("/proc/" + child + "/stat")
		t.Fatalf("child %s not reaped: %s", child, st)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pause exited with %v, want 0 (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Shutting down, got signal") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

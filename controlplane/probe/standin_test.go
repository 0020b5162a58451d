package main

// Everything here listens on and talks to 127.0.0.1 only.

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func env(values map[string]string) func(string) string {
	return func(k string) string { return values[k] }
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestParseStandinPorts(t *testing.T) {
	got, err := parseStandinPorts(" 8080/TCP,5432/tcp,53/UDP,9000, 8080/TCP ,")
	if err != nil {
		t.Fatal(err)
	}
	want := []listenSpec{{"tcp", 8080}, {"tcp", 5432}, {"udp", 53}, {"tcp", 9000}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"http/TCP", "8080/ICMP", "0/TCP", "70000/UDP"} {
		if _, err := parseStandinPorts(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestStandinExitsForListedNames(t *testing.T) {
	var out, errOut bytes.Buffer
	e := env(map[string]string{envStandinExit: "/app/bin/other, /app/bin/migrate", envStandinPorts: "not a port"})
	// Listed: exits 0 before it even reads the ports.
	if code := dispatch([]string{"/app/bin/migrate", "up"}, e, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, want 0 (stderr %q)", code, errOut.String())
	}
	if !strings.Contains(out.String(), "/app/bin/migrate is listed in K8SSEC_STANDIN_EXIT") {
		t.Fatalf("stdout %q", out.String())
	}
	// The subcommand's name is "standin", whatever arguments follow.
	e = env(map[string]string{envStandinExit: "standin"})
	if code := standinMain(standinName, e, &out, &errOut); code != 0 {
		t.Fatalf("standin listed: exit %d", code)
	}
	// Not listed: the ports are read, and a bad list is a usage error.
	e = env(map[string]string{envStandinExit: "/app/bin/migrate", envStandinPorts: "8080/ICMP"})
	if code := dispatch([]string{"/app/bin/api", "--flag"}, e, &out, &errOut); code != 2 {
		t.Fatalf("unlisted with bad ports: exit %d, want 2", code)
	}
	// A listed basename is not the listed path: matching is exact.
	if code := dispatch([]string{"migrate"}, e, &out, &errOut); code != 2 {
		t.Fatalf("basename matched the path: exit %d, want 2", code)
	}
	// Under its own name it is the multi-call program, not the stand-in.
	out.Reset()
	if code := dispatch([]string{"/bin/k8ssec-probe", "version"}, e, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "k8ssec-probe ") {
		t.Fatalf("own name: exit %d, stdout %q", code, out.String())
	}
}

func TestHTTPAwareTCP(t *testing.T) {
	srv, err := startListeners("127.0.0.1", []listenSpec{{"tcp", 0}}, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.addrs[0], "tcp ")

	// What the kubelet's httpGet probe does: a Go HTTP client's GET.
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != hostname(t)+"\n" {
		t.Fatalf("GET: %s %q", resp.Status, body)
	}
	resp, err = client.Head("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	resp.Body.Close()

	// A client that only reads still gets the hostname, after the wait.
	start := time.Now()
	r := connectOnce("tcp", addr, 2*time.Second)
	if r.Outcome != outcomeConnected || r.Reply != hostname(t) {
		t.Fatalf("silent client: %+v", r)
	}
	if el := time.Since(start); el < firstLineWait-50*time.Millisecond {
		t.Fatalf("silent client answered after %v, before the %v wait", el, firstLineWait)
	}
	// A client speaking another protocol gets the hostname, not HTTP.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PING\r\n"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != hostname(t)+"\n" {
		t.Fatalf("non-HTTP client: %q %v", line, err)
	}
}

// The stand-in as a container runs it: the real program, exec'd through a
// symlink at a path the manifest names. argv[0] is that path, so the mode
// is chosen by it. The test binary becomes the program through TestMain.
func TestStandinThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	migrate := filepath.Join(dir, "app", "bin", "migrate")
	api := filepath.Join(dir, "app", "bin", "api")
	os.MkdirAll(filepath.Dir(migrate), 0o755)
	for _, p := range []string{migrate, api} {
		if err := os.Symlink(self, p); err != nil {
			t.Fatal(err)
		}
	}
	tcp := freePort(t)
	udp := freePort(t)
	base := append(os.Environ(),
		"K8SSEC_PROBE_TEST_MAIN=1",
		envStandinExit+"="+migrate,
		envStandinPorts+"="+strconv.Itoa(tcp)+"/TCP,"+strconv.Itoa(udp)+"/UDP",
		envStandinAddress+"=127.0.0.1",
	)

	// The init container: exits 0 at once, whatever its arguments.
	cmd := exec.Command(migrate, "up", "--all")
	cmd.Env = base
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v: %s", err, out)
	}

	// The long-running container: serves until SIGTERM, then exits 0.
	cmd = exec.Command(api, "--listen", ":8080")
	cmd.Env = base
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	tcpAddr := "127.0.0.1:" + strconv.Itoa(tcp)
	var r result
	for i := 0; i < 100; i++ {
		if r = connectOnce("tcp", tcpAddr, time.Second); r.Outcome == outcomeConnected {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.Reply != hostname(t) {
		t.Fatalf("tcp: %+v; output:\n%s", r, stdout.String())
	}
	if r := connectOnce("udp", "127.0.0.1:"+strconv.Itoa(udp), time.Second); r.Reply != hostname(t) {
		t.Fatalf("udp: %+v", r)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("api exited with %v, want 0; output:\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "running as "+api) {
		t.Fatalf("argv[0] was not the symlink's path; output:\n%s", stdout.String())
	}
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The stand-in: what runs in place of an application whose image no
// registry here serves. pytest-k8ssec builds an image named like the
// manifest's reference, with this binary at every path the manifest's
// commands name (e.g. /app/bin/migrate), so a pod of the manifest starts
// unchanged: long-running containers serve their declared ports, init
// containers and jobs exit 0 at once. The arguments belong to the real
// application and are ignored.
const (
	// Comma-separated program paths (argv[0] as the container ran it) that
	// exit 0 at once; "standin" stands for `k8ssec-probe standin`.
	envStandinExit = "K8SSEC_STANDIN_EXIT"
	// Comma-separated PORT/PROTOCOL (protocol TCP, UDP or SCTP; TCP when
	// omitted) to serve; empty serves nothing and just waits for a signal.
	envStandinPorts = "K8SSEC_STANDIN_PORTS"
	// Address to listen on; empty (the default, as in a pod) means all of
	// the container's addresses. The tests set 127.0.0.1.
	envStandinAddress = "K8SSEC_STANDIN_ADDRESS"

	programName = "k8ssec-probe"
	standinName = "standin"
)

// dispatch picks the mode from argv[0]: under its own name the program
// takes a subcommand; under any other name (a path a manifest's command
// names) it is the stand-in for that program.
func dispatch(argv []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(argv) > 0 && filepath.Base(argv[0]) != programName {
		return standinMain(argv[0], getenv, stdout, stderr)
	}
	return run(argv[1:], stdout, stderr)
}

func splitList(value string) []string {
	var out []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseStandinPorts reads "8080/TCP,53/UDP" in the Kubernetes spelling
// (containerPort/protocol); protocols are case-insensitive.
func parseStandinPorts(value string) ([]listenSpec, error) {
	var out []listenSpec
	for _, item := range splitList(value) {
		portStr, proto, found := strings.Cut(item, "/")
		if !found {
			proto = "tcp"
		}
		proto = strings.ToLower(proto)
		switch proto {
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("%s: unknown protocol in %q (want TCP, UDP or SCTP)", envStandinPorts, item)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("%s: not a port in %q", envStandinPorts, item)
		}
		spec := listenSpec{proto, port}
		if !slices.Contains(out, spec) {
			out = append(out, spec)
		}
	}
	return out, nil
}

// standinMain runs as the program `name` (argv[0], or "standin" for the
// subcommand): exit 0 if the name is in K8SSEC_STANDIN_EXIT, else serve
// K8SSEC_STANDIN_PORTS until SIGTERM or SIGINT, then exit 0.
func standinMain(name string, getenv func(string) string, stdout, stderr io.Writer) int {
	if slices.Contains(splitList(getenv(envStandinExit)), name) {
		fmt.Fprintf(stdout, "k8ssec-probe standin: %s is listed in %s; exiting 0\n", name, envStandinExit)
		return 0
	}
	want, err := parseStandinPorts(getenv(envStandinPorts))
	if err != nil {
		fmt.Fprintf(stderr, "k8ssec-probe standin: %v\n", err)
		return 2
	}
	// Notify before listening, as serve does: a SIGTERM right after start
	// must stop us with 0, not kill us.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var srv *server
	if len(want) > 0 {
		srv, err = startListeners(getenv(envStandinAddress), want, true, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "k8ssec-probe standin: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "k8ssec-probe standin: running as %s, serving %d listener(s)\n", name, len(want))
	sig := <-sigs
	fmt.Fprintf(stdout, "k8ssec-probe standin: got %v, stopping\n", sig)
	if srv != nil {
		srv.Close()
	}
	return 0
}

// An HTTP/1.x request line (RFC 9112 section 3): method, target, version.
var httpRequestLine = regexp.MustCompile(`^[A-Z]+ \S+ HTTP/1\.[0-9]\r?\n$`)

const (
	// How long an HTTP-aware server waits for a client's first line before
	// it answers with the bare hostname. HTTP clients (the kubelet's
	// httpGet probe) send the request right after connecting; clients that
	// only read (`connect`) get their reply this much later.
	firstLineWait = 250 * time.Millisecond
	// Bound on the request headers' time and size: enough for a probe.
	headerWait  = 2 * time.Second
	headerLimit = 16 * 1024
)

// serveTCPConn answers one connection: the hostname at once, or, on an
// HTTP-aware server, an HTTP 200 response whose body is the hostname when
// the client opens with an HTTP request line.
func (s *server) serveTCPConn(c net.Conn) {
	defer c.Close()
	if !s.httpAware {
		c.Write(s.reply())
		return
	}
	c.SetReadDeadline(time.Now().Add(firstLineWait))
	r := bufio.NewReaderSize(io.LimitReader(c, headerLimit), 4096)
	line, err := r.ReadString('\n')
	if err != nil || !httpRequestLine.MatchString(line) {
		c.SetReadDeadline(time.Time{})
		c.Write(s.reply())
		return
	}
	// Read the headers to their empty line, so closing the socket does not
	// reset a connection with unread request bytes in it.
	c.SetReadDeadline(time.Now().Add(headerWait))
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if h == "\r\n" || h == "\n" {
			break
		}
	}
	body := s.reply()
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
	if !strings.HasPrefix(line, "HEAD ") {
		c.Write(body)
	}
}

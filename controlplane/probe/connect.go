package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is the one JSON line connect prints. Field order is the documented
// order (outcome, detail, reply).
type result struct {
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
	Reply   string `json:"reply"`
}

const (
	outcomeConnected   = "connected"
	outcomeRefused     = "refused"
	outcomeTimeout     = "timeout"
	outcomeUnreachable = "unreachable"
	outcomeError       = "error"
)

var errTimeout = errors.New("timed out")

func connectMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	protocol := fs.String("protocol", "tcp", "tcp, udp or sctp")
	timeout := fs.Duration("timeout", 2*time.Second, "time for the connection and the reply together")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *timeout <= 0 {
		fmt.Fprintln(stderr, "k8ssec-probe connect: give exactly one HOST:PORT and a positive --timeout")
		return 2
	}
	r := connectOnce(strings.ToLower(*protocol), fs.Arg(0), *timeout)
	// Addresses read better as "->" than as "\u003e" in a test failure.
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.Encode(r)
	if r.Outcome == outcomeConnected {
		return 0
	}
	return 1
}

// connectOnce makes exactly one attempt; no retry, so a dropped SYN shows as
// a timeout instead of being hidden by a second try.
func connectOnce(protocol, target string, timeout time.Duration) result {
	deadline := time.Now().Add(timeout)
	host, portStr, err := net.SplitHostPort(target)
	if err != nil {
		return result{Outcome: outcomeError, Detail: err.Error()}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return result{Outcome: outcomeError, Detail: fmt.Sprintf("bad port %q", portStr)}
	}
	switch protocol {
	case "tcp":
		return connectStream(target, deadline)
	case "udp":
		return connectUDP(target, deadline)
	case "sctp":
		if err := sctpAvailable(); err != nil {
			return result{Outcome: outcomeError, Detail: "sctp unavailable: " + err.Error()}
		}
		ip, err := resolve(host, deadline)
		if err != nil {
			return classify(err)
		}
		reply, err := sctpConnect(ip, port, deadline)
		if err != nil {
			return classify(err)
		}
		return result{Outcome: outcomeConnected, Detail: "sctp association established", Reply: reply}
	default:
		return result{Outcome: outcomeError, Detail: fmt.Sprintf("unknown protocol %q (want tcp, udp or sctp)", protocol)}
	}
}

func connectStream(target string, deadline time.Time) result {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", target)
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	c.SetReadDeadline(deadline)
	line, err := bufio.NewReader(c).ReadString('\n')
	r := result{Outcome: outcomeConnected, Detail: "tcp connection established to " + c.RemoteAddr().String(), Reply: strings.TrimRight(line, "\r\n")}
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		// The handshake completed, which is what a policy decides; a missing
		// reply is reported but does not change the outcome.
		r.Detail += "; no reply: " + err.Error()
	}
	return r
}

func connectUDP(target string, deadline time.Time) result {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("udp", target)
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := c.Write([]byte("k8ssec-probe\n")); err != nil {
		return classify(err)
	}
	buf := make([]byte, 64*1024)
	n, err := c.Read(buf)
	if err != nil {
		// A connected UDP socket reports an ICMP port unreachable as
		// ECONNREFUSED on the next read: that is "refused". Silence is
		// "timeout": UDP cannot tell a drop from a server that ignores us.
		return classify(err)
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	return result{Outcome: outcomeConnected, Detail: "udp reply from " + c.RemoteAddr().String(), Reply: strings.TrimRight(line, "\r")}
}

func resolve(host string, deadline time.Time) (net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip, nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	return ips[0], nil
}

// classify maps an error to the outcome the tests compare with a verdict.
func classify(err error) result {
	detail := err.Error()
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return result{Outcome: outcomeRefused, Detail: detail}
	case errors.Is(err, errTimeout), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &ne) && ne.Timeout():
		return result{Outcome: outcomeTimeout, Detail: detail}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return result{Outcome: outcomeUnreachable, Detail: detail}
	default:
		return result{Outcome: outcomeError, Detail: detail}
	}
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

type portList []int

func (p *portList) String() string { return fmt.Sprint(*p) }

func (p *portList) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("not a port: %q", s)
	}
	*p = append(*p, n)
	return nil
}

func parseProtocols(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch p {
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("unknown protocol %q (want tcp, udp or sctp)", p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func serveMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ports portList
	fs.Var(&ports, "port", "port to listen on (repeatable)")
	protocols := fs.String("protocols", "tcp", "comma-separated protocols: tcp, udp, sctp")
	address := fs.String("address", "", "address to listen on (default: all)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(ports) == 0 || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "k8ssec-probe serve: give at least one --port and no other arguments")
		return 2
	}
	protos, err := parseProtocols(*protocols)
	if err != nil {
		fmt.Fprintf(stderr, "k8ssec-probe serve: %v\n", err)
		return 2
	}
	// Notify before listening, so a SIGTERM right after the first log line
	// is not lost to the default action.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	srv, err := startServe(*address, ports, protos, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "k8ssec-probe serve: %v\n", err)
		return 1
	}
	sig := <-sigs
	fmt.Fprintf(stdout, "k8ssec-probe serve: got %v, stopping\n", sig)
	srv.Close()
	return 0
}

type server struct {
	hostname  string
	httpAware bool
	closers   []io.Closer
	// addrs holds "protocol address" per listener, in start order, with the
	// port the kernel chose when 0 was asked for (the tests use that).
	addrs []string
	wg    sync.WaitGroup
}

// startServe opens every (protocol, port) listener and answers on each in
// its own goroutine. SCTP missing from the kernel is logged and skipped, so
// a pod spec asking for tcp,udp,sctp works on every node; any other
// listener failure is an error, as is ending up with no listener at all.
func startServe(address string, ports []int, protos []string, log io.Writer) (*server, error) {
	var want []listenSpec
	for _, proto := range protos {
		for _, port := range ports {
			want = append(want, listenSpec{proto, port})
		}
	}
	return startListeners(address, want, false, log)
}

// listenSpec is one listener: a protocol (tcp, udp, sctp) and a port.
type listenSpec struct {
	proto string
	port  int
}

// startListeners opens the given listeners. With httpAware, a TCP client
// that starts with an HTTP request line gets an HTTP response instead of the
// bare hostname (see serveTCPConn).
func startListeners(address string, want []listenSpec, httpAware bool, log io.Writer) (*server, error) {
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	s := &server{hostname: hostname, httpAware: httpAware}
	sctpChecked, sctpErr := false, error(nil)
	for _, w := range want {
		proto, port := w.proto, w.port
		if proto == "sctp" {
			if !sctpChecked {
				sctpChecked, sctpErr = true, sctpAvailable()
				if sctpErr != nil {
					fmt.Fprintf(log, "k8ssec-probe serve: sctp unavailable: %v; serving the other protocols\n", sctpErr)
				}
			}
			if sctpErr != nil {
				continue
			}
		}
		hostport := net.JoinHostPort(address, strconv.Itoa(port))
		var bound string
		switch proto {
		case "tcp":
			l, err := net.Listen("tcp", hostport)
			if err != nil {
				s.Close()
				return nil, err
			}
			s.closers = append(s.closers, l)
			bound = l.Addr().String()
			s.wg.Add(1)
			go s.serveTCP(l)
		case "udp":
			c, err := net.ListenPacket("udp", hostport)
			if err != nil {
				s.Close()
				return nil, err
			}
			s.closers = append(s.closers, c)
			bound = c.LocalAddr().String()
			s.wg.Add(1)
			go s.serveUDP(c)
		case "sctp":
			l, err := sctpListen(address, port)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("sctp listen on %s: %w", hostport, err)
			}
			s.closers = append(s.closers, l)
			bound = l.addr
			s.wg.Add(1)
			go s.serveSCTP(l)
		default:
			s.Close()
			return nil, fmt.Errorf("unknown protocol %q", proto)
		}
		s.addrs = append(s.addrs, proto+" "+bound)
		fmt.Fprintf(log, "k8ssec-probe serve: %s listening on %s\n", proto, bound)
	}
	if len(s.closers) == 0 {
		return nil, errors.New("no listener could be opened")
	}
	return s, nil
}

func (s *server) Close() {
	for _, c := range s.closers {
		c.Close()
	}
	s.wg.Wait()
}

func (s *server) reply() []byte { return []byte(s.hostname + "\n") }

// TCP and SCTP answer on accept, without waiting for the client to speak:
// a client that only connects still gets proof of whom it reached.
func (s *server) serveTCP(l net.Listener) {
	defer s.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go s.serveTCPConn(c)
	}
}

func (s *server) serveUDP(c net.PacketConn) {
	defer s.wg.Done()
	buf := make([]byte, 64*1024)
	for {
		_, from, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.WriteTo(s.reply(), from)
	}
}

func (s *server) serveSCTP(l *sctpListener) {
	defer s.wg.Done()
	for {
		fd, err := l.accept()
		if err != nil {
			if l.closed() {
				return
			}
			continue
		}
		go func() {
			sctpWriteClose(fd, s.reply())
		}()
	}
}

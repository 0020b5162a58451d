package main

// SCTP through raw socket calls: Go's net package has no SCTP. The one-to-one
// style (SOCK_STREAM, IPPROTO_SCTP) behaves like TCP: connect, accept, read,
// write, close; that is all a reachability probe needs.

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// sctpAvailable opens and closes one SCTP socket: without the sctp kernel
// module socket() fails with EPROTONOSUPPORT, and that error is the reason
// reported to the user.
func sctpAvailable() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return fmt.Errorf("socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): %w", err)
	}
	unix.Close(fd)
	return nil
}

type sctpListener struct {
	fd       int
	addr     string
	isClosed atomic.Bool
}

func sockaddr(ip net.IP, port int) (int, unix.Sockaddr) {
	if ip4 := ip.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return unix.AF_INET, sa
	}
	sa := &unix.SockaddrInet6{Port: port}
	copy(sa.Addr[:], ip.To16())
	return unix.AF_INET6, sa
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	}
	return fmt.Sprint(sa)
}

// sctpListen listens on address:port; an empty address means every address
// (IPv6 wildcard, which also takes IPv4, or IPv4 alone where IPv6 is off).
func sctpListen(address string, port int) (*sctpListener, error) {
	var candidates []net.IP
	if address == "" {
		candidates = []net.IP{net.IPv6unspecified, net.IPv4zero}
	} else {
		ip := net.ParseIP(address)
		if ip == nil {
			return nil, fmt.Errorf("not an IP address: %q", address)
		}
		candidates = []net.IP{ip}
	}
	var lastErr error
	for _, ip := range candidates {
		family, sa := sockaddr(ip, port)
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
		if err != nil {
			lastErr = err
			continue
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			lastErr = err
			continue
		}
		if err := unix.Listen(fd, 128); err != nil {
			unix.Close(fd)
			lastErr = err
			continue
		}
		bound, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			lastErr = err
			continue
		}
		return &sctpListener{fd: fd, addr: sockaddrString(bound)}, nil
	}
	return nil, lastErr
}

func (l *sctpListener) accept() (int, error) {
	fd, _, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC)
	return fd, err
}

func (l *sctpListener) closed() bool { return l.isClosed.Load() }

// Close shuts the socket down first: on Linux that wakes a goroutine
// blocked in accept(), which close() alone does not.
func (l *sctpListener) Close() error {
	if l.isClosed.Swap(true) {
		return nil
	}
	unix.Shutdown(l.fd, unix.SHUT_RDWR)
	return unix.Close(l.fd)
}

func sctpWriteClose(fd int, data []byte) {
	unix.Write(fd, data)
	unix.Close(fd)
}

func remainingMillis(deadline time.Time) int {
	ms := time.Until(deadline).Milliseconds()
	if ms < 0 {
		return 0
	}
	return int(ms)
}

// waitFD polls fd for events until the deadline; errTimeout when it passes.
func waitFD(fd int, events int16, deadline time.Time) error {
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(pfd, remainingMillis(deadline))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errTimeout
		}
		return nil
	}
}

// sctpConnect establishes one association, sends one message and returns
// the first line of the answer.
func sctpConnect(ip net.IP, port int, deadline time.Time) (string, error) {
	family, sa := sockaddr(ip, port)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return "", fmt.Errorf("sctp socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		return "", fmt.Errorf("sctp connect %s: %w", sockaddrString(sa), err)
	}
	if err := waitFD(fd, unix.POLLOUT, deadline); err != nil {
		return "", fmt.Errorf("sctp connect %s: %w", sockaddrString(sa), err)
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return "", err
	}
	if soerr != 0 {
		return "", fmt.Errorf("sctp connect %s: %w", sockaddrString(sa), unix.Errno(soerr))
	}
	unix.Write(fd, []byte("k8ssec-probe\n"))
	if err := waitFD(fd, unix.POLLIN, deadline); err != nil {
		// Associated but silent: still connected, as for TCP.
		return "", nil
	}
	buf := make([]byte, 64*1024)
	n, err := unix.Read(fd, buf)
	if err != nil || n <= 0 {
		return "", nil
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	return strings.TrimRight(line, "\r"), nil
}

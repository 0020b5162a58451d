// k8ssec-probe: the one program inside pytest-k8ssec's local images. It is the
// pod sandbox's process (pause), a server that answers every connection with
// its hostname (serve), and a client that makes one connection attempt and
// says in one JSON line what happened to it (connect). The NetworkPolicy
// tests read that line to compare real traffic with the model's verdict, so
// the outcome names must stay stable: connected, refused, timeout,
// unreachable, error. Started under any name but its own, or as `standin`,
// it stands in for an application whose image cannot be pulled (standin.go).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// Set by build.sh (-X main.buildStamp=...): the hash of the sources and build
// flags, so build.sh can tell whether the cached binary is current.
var buildStamp = "unstamped"

const version = "1"

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  k8ssec-probe pause
  k8ssec-probe serve [--address ADDR] --port N [--port N ...] [--protocols tcp,udp,sctp]
  k8ssec-probe connect [--protocol tcp|udp|sctp] [--timeout 2s] HOST:PORT
  k8ssec-probe standin        (also: the program started under any other name)
  k8ssec-probe version
`)
}

func main() {
	os.Exit(dispatch(os.Args, os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "pause":
		return pause(stderr)
	case "serve":
		return serveMain(args[1:], stdout, stderr)
	case "connect":
		return connectMain(args[1:], stdout, stderr)
	case standinName:
		// The real application's arguments follow; they are not ours.
		return standinMain(standinName, os.Getenv, stdout, stderr)
	case "version", "-v", "--version":
		fmt.Fprintf(stdout, "k8ssec-probe %s\nstamp: %s\ngo: %s %s/%s\n", version, buildStamp, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "k8ssec-probe: unknown subcommand %q\n", args[0])
		usage(stderr)
		return 2
	}
}

#!/usr/bin/env bash
# Build k8ssec-probe (see main.go) into the git-ignored cache
#   controlplane/.cache/bin/k8ssec-probe
# as a static, stripped binary from the pinned go.mod/go.sum, using only the Go
# toolchain on PATH and the Go module proxy (golang.org/x/sys is the one
# dependency).
#
# Idempotent like ../build.sh: when the cached binary's embedded stamp (Go
# version and a hash of go.mod, go.sum, the Go sources and the build flags)
# equals the stamp this script would build, nothing is done.
#
# Environment:
#   K8SSEC_PROBE_REBUILD=1   build even if the cached binary is current
#   GO                       the go command to use (default: go)
#
# The last line of output is the binary's absolute path.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
bindir="$(cd .. && pwd)/.cache/bin"
bin="$bindir/k8ssec-probe"
go="${GO:-go}"

export GOTOOLCHAIN=local
# Static: the images hold no libc for it.
export CGO_ENABLED=0
# The images are linux/amd64 like the node; say so instead of inheriting a
# GOOS/GOARCH from the environment.
export GOOS=linux GOARCH=amd64

if ! command -v "$go" >/dev/null 2>&1; then
    echo "controlplane/probe/build.sh: '$go' not found on PATH; a Go >= 1.26 toolchain is required" >&2
    exit 1
fi

mkdir -p "$bindir"
exec 9>"$bindir/../probe-build.lock"
flock 9

build_flags=(-p 2 -mod=readonly -trimpath -buildvcs=false)
go_version="$("$go" env GOVERSION)"
recipe="$(
    {
        cat go.mod go.sum ./*.go
        printf '%s\n' "$go_version" "${build_flags[@]}" "CGO_ENABLED=$CGO_ENABLED" "$GOOS/$GOARCH"
    } | sha256sum | cut -c1-16
)"
stamp="$go_version recipe=$recipe"

if [[ -x "$bin" && "${K8SSEC_PROBE_REBUILD:-0}" != 1 ]]; then
    have="$("$bin" version 2>/dev/null | sed -n 's/^stamp: //p' || true)"
    if [[ "$have" == "$stamp" ]]; then
        echo "k8ssec-probe: up to date, nothing to build ($stamp)"
        echo "$bin"
        exit 0
    fi
    echo "k8ssec-probe: cached binary is stale (have: ${have:-no stamp}; want: $stamp); rebuilding"
else
    echo "k8ssec-probe: building $bin ($stamp)"
fi

start=$(date +%s)
"$go" mod download
# The temporary binary keeps the name k8ssec-probe: under any other name the
# program is the stand-in (standin.go), and `version` would not be read.
tmpdir="$bindir/.k8ssec-probe.tmp.$$"
tmp="$tmpdir/k8ssec-probe"
mkdir -p "$tmpdir"
trap 'rm -rf "$tmpdir"' EXIT
"$go" build "${build_flags[@]}" -ldflags "-s -w -X 'main.buildStamp=$stamp'" -o "$tmp" .
have="$("$tmp" version | sed -n 's/^stamp: //p')"
if [[ "$have" != "$stamp" ]]; then
    echo "controlplane/probe/build.sh: built binary reports stamp '$have', expected '$stamp'" >&2
    exit 1
fi
mv -f "$tmp" "$bin"
rmdir "$tmpdir"
trap - EXIT
echo "k8ssec-probe: built in $(( $(date +%s) - start )) s: $(stat -c %s "$bin") bytes"
echo "$bin"

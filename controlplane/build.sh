#!/usr/bin/env bash
# Build the multi-call control-plane binary (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, etcd; see main.go) into the git-ignored cache
#   controlplane/.cache/bin/k8s-controlplane
# from the pinned module graph in go.mod/go.sum, using only the Go toolchain
# on PATH and the Go module proxy.
#
# Idempotent: when the cached binary's embedded stamp (pinned Kubernetes and
# etcd versions, Go version, and a hash of go.mod, go.sum, the Go sources and
# the build flags) equals the stamp this script would build, nothing is done.
# A cold build took 25 min on a busy 2-core machine (~25 CPU-minutes, peak
# RSS ~3 GiB in the link; see README.md); a rebuild with a warm Go build cache
# takes ~20 s (the link).
#
# Environment:
#   K8S_CONTROLPLANE_REBUILD=1   build even if the cached binary is current
#   GO                           the go command to use (default: go)
#
# Prints what it did, how long it took and the binary's size; the last line
# of output is the binary's absolute path. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
bindir="$here/.cache/bin"
bin="$bindir/k8s-controlplane"
go="${GO:-go}"

# Never let the go command download a newer toolchain: the build must work
# with the Go on the machine (1.26.x), or fail loudly.
export GOTOOLCHAIN=local
# Static binary, like the official kube-apiserver/KCM/etcd builds.
export CGO_ENABLED=0

if ! command -v "$go" >/dev/null 2>&1; then
    echo "controlplane/build.sh: '$go' not found on PATH; a Go >= 1.26 toolchain is required" >&2
    exit 1
fi

mkdir -p "$bindir"
# Serialise concurrent builds (two CI jobs on one machine): the second waits
# and then finds the binary current.
exec 9>"$here/.cache/build.lock"
flock 9

# Versions come from go.mod, so the stamp check below needs no network.
modver() { awk -v m="$1" '$1 == m { print $2; exit }' go.mod; }
k8s_version="$(modver k8s.io/kubernetes)"
etcd_version="$(modver go.etcd.io/etcd/server/v3)"
go_version="$("$go" env GOVERSION)"
if [[ -z "$k8s_version" || -z "$etcd_version" ]]; then
    echo "controlplane/build.sh: cannot read the pinned versions from go.mod" >&2
    exit 1
fi
# v1.37.2 -> major 1, minor 37
k8s_major="${k8s_version#v}"; k8s_major="${k8s_major%%.*}"
k8s_minor="${k8s_version#v*.}"; k8s_minor="${k8s_minor%%.*}"

build_flags=(-p 2 -mod=readonly -trimpath -buildvcs=false)
# Version stamping as upstream's hack/lib/version.sh does (for both
# component-base and client-go), so /version reports the release rather than
# "v0.0.0-master+$Format:%H$". The commit is not known from the module proxy,
# so gitCommit is left empty; buildDate is filled in at build time from the
# release's module timestamp (deterministic).
version_vars=(
    "gitVersion=$k8s_version"
    "gitMajor=$k8s_major"
    "gitMinor=$k8s_minor"
    "gitCommit="
    "gitTreeState="
)
recipe="$(
    {
        cat go.mod go.sum ./*.go
        printf '%s\n' "$go_version" "${build_flags[@]}" "${version_vars[@]}" "CGO_ENABLED=$CGO_ENABLED"
    } | sha256sum | cut -c1-16
)"
stamp="kubernetes=$k8s_version etcd=$etcd_version $go_version recipe=$recipe"

if [[ -x "$bin" && "${K8S_CONTROLPLANE_REBUILD:-0}" != 1 ]]; then
    have="$("$bin" version 2>/dev/null | sed -n 's/^stamp: //p' || true)"
    if [[ "$have" == "$stamp" ]]; then
        echo "controlplane: up to date, nothing to build ($stamp)"
        echo "controlplane: $(du -h "$bin" | cut -f1) $bin"
        echo "$bin"
        exit 0
    fi
    echo "controlplane: cached binary is stale (have: ${have:-no stamp}; want: $stamp); rebuilding"
else
    echo "controlplane: building $bin ($stamp)"
fi

start=$(date +%s)
# Downloads whatever modules are missing from the module cache (go.sum
# already lists them all; nothing is resolved or upgraded here).
echo "controlplane: downloading modules (GOMODCACHE=$("$go" env GOMODCACHE))"
"$go" mod download
build_date="$("$go" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"

ldflags="-s -w -X 'main.buildStamp=$stamp'"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for kv in "${version_vars[@]}" "buildDate=$build_date"; do
        ldflags+=" -X '$pkg.$kv'"
    done
done

echo "controlplane: go build ${build_flags[*]} (GOCACHE=$("$go" env GOCACHE)); a cold build takes ~15-25 min on 2 cores, a warm one ~20 s"
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
timing=()
if [[ -x /usr/bin/time ]]; then
    timing=(/usr/bin/time -f "controlplane: go build: %e s wall, %U s user, %S s sys, peak RSS of the largest process %M KiB")
fi
"${timing[@]}" "$go" build "${build_flags[@]}" -ldflags "$ldflags" -o "$tmp" .

have="$("$tmp" version | sed -n 's/^stamp: //p')"
if [[ "$have" != "$stamp" ]]; then
    echo "controlplane/build.sh: built binary reports stamp '$have', expected '$stamp'" >&2
    exit 1
fi
mv -f "$tmp" "$bin"
trap - EXIT

end=$(date +%s)
echo "controlplane: built in $((end - start)) s: $(du -h "$bin" | cut -f1) $bin"
# Kept for benchmarks/bench_live.py, which reports the build time without rebuilding.
echo "$((end - start)) s on $(date -u +%Y-%m-%dT%H:%M:%SZ), $stamp" >"$here/.cache/last-build.txt"
"$bin" version | sed 's/^/controlplane:   /'
echo "$bin"

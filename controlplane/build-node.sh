#!/usr/bin/env bash
# Build the local node's programs that do not live in the multi-call binary
# (kubelet and kube-scheduler do: see build.sh) into the git-ignored folder
#   controlplane/.cache/bin/node/
# from pinned Go modules, one small module per upstream project so their
# dependency graphs never mix:
#   node/containerd/   containerd, ctr, containerd-shim-runc-v2   (containerd v2.4.2)
#   node/cni-plugins/  bridge, host-local, loopback, portmap       (containernetworking/plugins v1.10.0)
#   node/kube-router/  kube-router (its NetworkPolicy firewall)    (kube-router v2.1.0)
# Each go.mod names its programs with `tool` directives; go.sum pins the graph.
# runc comes from Debian's package (see README.md, "Node components").
#
# Every program is built static (CGO_ENABLED=0), as the upstream release
# builds do; containerd with the tags of its Makefile's STATIC build minus the
# snapshotters this node never uses (btrfs, devmapper, zfs).
#
# Idempotent: the folder holds a stamp (Go version and a hash of the go.mod
# and go.sum files and the build flags); when it equals the stamp this script
# would build, nothing is done. A flock serialises concurrent runs.
#
# Environment:
#   K8S_NODE_REBUILD=1   build even if the folder is current
#   GO                   the go command to use (default: go)
#
# Prints what it did, times and sizes; the last line of output is the
# folder's absolute path. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
out="$here/.cache/bin/node"
go="${GO:-go}"

# Never download a toolchain: build with the Go on the machine or fail.
export GOTOOLCHAIN=local
export CGO_ENABLED=0
# Only the modules' own go.mod/go.sum decide versions.
unset GOFLAGS

if ! command -v "$go" >/dev/null 2>&1; then
    echo "controlplane/build-node.sh: '$go' not found on PATH; a Go >= 1.26.8 toolchain is required" >&2
    exit 1
fi

mkdir -p "$here/.cache/bin"
exec 9>"$here/.cache/build-node.lock"
flock 9

modver() { awk -v m="$2" '$1 == m { print $2; exit }' "node/$1/go.mod"; }
containerd_version="$(modver containerd github.com/containerd/containerd/v2)"
cni_version="$(modver cni-plugins github.com/containernetworking/plugins)"
kuberouter_version="$(modver kube-router github.com/cloudnativelabs/kube-router/v2)"
if [[ -z "$containerd_version" || -z "$cni_version" || -z "$kuberouter_version" ]]; then
    echo "controlplane/build-node.sh: cannot read the pinned versions from node/*/go.mod" >&2
    exit 1
fi

common_flags=(-p 2 -mod=readonly -trimpath -buildvcs=false)
# containerd's Makefile: GO_BUILDTAGS = urfave_cli_no_docs (+ osusergo netgo
# static_build when STATIC=1); the shim adds no_grpc. btrfs needs cgo anyway.
containerd_tags="urfave_cli_no_docs osusergo netgo static_build no_btrfs no_devmapper no_zfs"
shim_tags="$containerd_tags no_grpc"
cpkg=github.com/containerd/containerd/v2
# As the Makefile stamps them; the module proxy knows no commit, so Revision
# stays empty.
containerd_ldflags="-s -w -X $cpkg/version.Version=$containerd_version -X $cpkg/version.Revision= -X $cpkg/version.Package=$cpkg"
# As the plugins' release workflow stamps them.
cni_ldflags="-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$cni_version"
kuberouter_ldflags="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$kuberouter_version"

go_version="$("$go" env GOVERSION)"
recipe="$(
    {
        cat node/*/go.mod node/*/go.sum
        printf '%s\n' "$go_version" "${common_flags[@]}" "$containerd_tags" "$shim_tags" \
            "$containerd_ldflags" "$cni_ldflags" "$kuberouter_ldflags" "CGO_ENABLED=$CGO_ENABLED"
    } | sha256sum | cut -c1-16
)"
stamp="containerd=$containerd_version cni-plugins=$cni_version kube-router=$kuberouter_version $go_version recipe=$recipe"
programs=(containerd ctr containerd-shim-runc-v2 bridge host-local loopback portmap kube-router)

current() {
    [[ "$(cat "$out/.stamp" 2>/dev/null)" == "$stamp" ]] || return 1
    local p
    for p in "${programs[@]}"; do [[ -x "$out/$p" ]] || return 1; done
}

if [[ "${K8S_NODE_REBUILD:-0}" != 1 ]] && current; then
    echo "node: up to date, nothing to build ($stamp)"
    echo "$out"
    exit 0
fi
echo "node: building into $out ($stamp)"

tmp="$(mktemp -d "$here/.cache/bin/node.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

# build <module dir> <label> <go install args...>: installs into $tmp.
build() {
    local mod="$1" label="$2" t0
    shift 2
    t0=$(date +%s)
    "$go" -C "node/$mod" mod download
    GOBIN="$tmp" "$go" -C "node/$mod" install "${common_flags[@]}" "$@"
    echo "node: $label built in $(( $(date +%s) - t0 )) s"
}

build containerd "containerd, ctr" -tags "$containerd_tags" -ldflags "$containerd_ldflags" \
    "$cpkg/cmd/containerd" "$cpkg/cmd/ctr"
build containerd "containerd-shim-runc-v2" -tags "$shim_tags" -ldflags "$containerd_ldflags" \
    "$cpkg/cmd/containerd-shim-runc-v2"
build cni-plugins "CNI plugins" -ldflags "$cni_ldflags" tool
build kube-router "kube-router" -ldflags "$kuberouter_ldflags" tool

for p in "${programs[@]}"; do
    [[ -x "$tmp/$p" ]] || { echo "controlplane/build-node.sh: $p was not built" >&2; exit 1; }
done
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT

end=$(date +%s)
echo "node: built in $((end - start)) s"
for p in "${programs[@]}"; do
    printf 'node:   %-24s %11s bytes\n' "$p" "$(stat -c %s "$out/$p")"
done
echo "$((end - start)) s on $(date -u +%Y-%m-%dT%H:%M:%SZ), $stamp" >"$here/.cache/last-build-node.txt"
echo "$out"

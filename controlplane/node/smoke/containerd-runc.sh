#!/usr/bin/env bash
# Smoke test of the node's container runtime (controlplane/README.md, "Node components"):
# containerd from controlplane/node/containerd-config.toml.example, Debian's runc, a
# busybox-static root filesystem run as uid 65534 without capabilities, an overlayfs
# snapshot, and a list of what is left behind. Run as root after build-node.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
N=$repo/controlplane/.cache/bin/node
export PATH=$N:$PATH
T=$(mktemp -d /tmp/ctd.XXXX)
before_mounts=$(mktemp); before_cg=$(mktemp)
cut -d' ' -f5 /proc/self/mountinfo | sort >"$before_mounts"
find /sys/fs/cgroup -type d | sort >"$before_cg"
mkdir -p "$T/cni/net.d" "$T/cdi" "$T/mnt"
sed -e "s#{{dir}}#$T#g" -e "s#{{cni_bin_dir}}#$N#g" -e "s#{{runc}}#/usr/sbin/runc#g" \
    -e "s#{{sandbox_image}}#localhost/k8ssec/pause:smoke#g" \
    "$repo/controlplane/node/containerd-config.toml.example" >"$T/config.toml"
# busybox-static root filesystem
R=$T/rootfs; mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp"
cp /bin/busybox "$R/bin/busybox"; for a in sh id grep head sleep; do ln -s busybox "$R/bin/$a"; done

t0=$(date +%s.%N)
cd "$T"; setsid containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 & cpid=$!; cd - >/dev/null
C=(ctr --address "$T/containerd.sock")
for _ in $(seq 200); do "${C[@]}" version >/dev/null 2>&1 && break; sleep 0.05; done
echo "containerd ready in $(echo "$(date +%s.%N) - $t0" | bc) s"
"${C[@]}" version 2>/dev/null
ss -ltnpx | grep containerd || true

drop=(); for c in CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE; do drop+=(--cap-drop "CAP_$c"); done
# ctr (a client, unlike CRI) brings its own defaults: FIFOs in
# /run/containerd/fifo, runc root /run/containerd/runc, cgroup
# /<namespace>/<id>; all moved into the temp dir / a one-level cgroup.
run=(run --fifo-dir "$T/fifo" --runc-binary /usr/sbin/runc --runc-root "$T/runc"
     --env PATH=/bin --user 65534:65534 "${drop[@]}" --seccomp)
echo "--- ctr run --rootfs (busybox-static), uid 65534, no capabilities, RuntimeDefault-like seccomp"
t1=$(date +%s.%N)
"${C[@]}" "${run[@]}" --rm --cgroup /k8ssec-smoke-1 --rootfs "$R" smoke1 sh -c \
    'id; grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status; head -2 /proc/self/cgroup' 2> >(grep -v DEPRECATION >&2)
echo "container run took $(echo "$(date +%s.%N) - $t1" | bc) s"

echo "--- overlayfs snapshot as rootfs, detached, then killed"
"${C[@]}" snapshots --snapshotter overlayfs prepare base-active 2>/dev/null
eval "$("${C[@]}" snapshots --snapshotter overlayfs mounts "$T/mnt" base-active 2>/dev/null)"
cp -a "$R/." "$T/mnt/"; umount "$T/mnt"
"${C[@]}" snapshots --snapshotter overlayfs commit base base-active 2>/dev/null
"${C[@]}" snapshots --snapshotter overlayfs prepare c2 base 2>/dev/null
mnt=$("${C[@]}" snapshots --snapshotter overlayfs mounts "$T/mnt" c2 2>/dev/null); echo "$mnt"; eval "$mnt"
"${C[@]}" "${run[@]}" -d --cgroup /k8ssec-smoke-2 --rootfs "$T/mnt" smoke2 sh -c 'echo hi >/tmp/x; sleep 300' 2>/dev/null
sleep 0.5
"${C[@]}" task ls 2>/dev/null
echo "during: processes"; pgrep -a -f "$T" | cut -c1-150
"${C[@]}" task kill -s SIGKILL smoke2 2>/dev/null; sleep 0.5
"${C[@]}" task delete smoke2 2>/dev/null; "${C[@]}" containers delete smoke2 2>/dev/null
umount "$T/mnt"
kill -TERM "$cpid"
for _ in $(seq 50); do pgrep -f "$T" >/dev/null || break; sleep 0.1; done

echo "--- left behind"
echo "processes: $(pgrep -a -f "$T" || echo none)"
echo "mounts (diff):"; cut -d' ' -f5 /proc/self/mountinfo | sort | diff "$before_mounts" - || true
echo "cgroups (diff):"; find /sys/fs/cgroup -type d | sort | diff "$before_cg" - || true
echo "/run/containerd: $(ls -A /run/containerd 2>&1)"
echo "/var/lib/cni: $(ls -A /var/lib/cni 2>&1)"
grep -E 'level=(error|warning)' "$T/containerd.log" | sed -E 's/^time="[^"]*" //' | cut -c1-160 | sort | uniq -c
rm -rf "$T" "$before_mounts" "$before_cg"

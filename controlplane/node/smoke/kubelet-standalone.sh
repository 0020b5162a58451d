#!/usr/bin/env bash
# Smoke test: the multi-call binary's kubelet, standalone (no API server), on the built
# containerd; prints what it changed on the host, then undoes it (sysctls, kubepods cgroups,
# /var/lib/kubelet if it did not exist, the root-dir bind mount). Run as root after build.sh
# and build-node.sh.
set -uo pipefail
# Another kubelet on this host would share the kubepods cgroups this script removes at the end,
# and the hard-coded /var/lib/kubelet/device-plugins/kubelet.sock.
# Any kubelet (stock or this binary's) or any kubepods cgroup at any depth (a kubelet with a
# cgroupRoot) means another node runs here: refuse rather than touch its state.
if pgrep -f '(^|/| )kubelet( |$)' >/dev/null || [ -n "$(find /sys/fs/cgroup -maxdepth 3 -type d -name kubepods -print -quit)" ]; then
    echo "kubelet-standalone.sh: another kubelet runs on this host (process or kubepods cgroup); not starting" >&2
    exit 1
fi
[ -e /var/lib/kubelet ] && existed_varlib=yes || existed_varlib=no
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
N=$repo/controlplane/.cache/bin/node
K=$repo/controlplane/.cache/bin/k8s-controlplane
export PATH=$N:$PATH
T=$(mktemp -d /tmp/kl.XXXX)
before_cg=$(mktemp); find /sys/fs/cgroup -type d | sort >"$before_cg"
before_ipt=$(mktemp); iptables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9:]*\]//' >"$before_ipt"
sysctls="vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes"
declare -A saved; for s in $sysctls; do saved[$s]=$(cat /proc/sys/$s); done
mkdir -p "$T/cni/net.d" "$T/cdi" "$T/manifests"
sed -e "s#{{dir}}#$T#g" -e "s#{{cni_bin_dir}}#$N#g" -e "s#{{runc}}#/usr/sbin/runc#g" \
    -e "s#{{sandbox_image}}#localhost/k8ssec/pause:smoke#g" \
    "$repo/controlplane/node/containerd-config.toml.example" >"$T/config.toml"
cd "$T" || exit 1; setsid containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 & cpid=$!; cd - >/dev/null
for _ in $(seq 200); do ctr --address "$T/containerd.sock" version >/dev/null 2>&1 && break; sleep 0.05; done
hp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
enableServer: false
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $hp
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$T/containerd.sock
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
staticPodPath: $T/manifests
podLogsDir: $T/pod-logs
volumePluginDir: $T/volume-plugins
YAML
t0=$(date +%s.%N)
setsid "$K" kubelet --config="$T/kubelet.yaml" --root-dir="$T/kubelet" --cert-dir="$T/kubelet/pki" \
    --hostname-override=smoke-node --v=1 >"$T/kubelet.log" 2>&1 & kpid=$!
ok=""
for _ in $(seq 300); do
    if curl -fsS "http://127.0.0.1:$hp/healthz" 2>/dev/null | grep -q ok; then ok=1; break; fi
    kill -0 $kpid 2>/dev/null || break; sleep 0.1
done
echo "kubelet healthz ok=${ok:-no} after $(echo "$(date +%s.%N) - $t0" | bc) s"
sleep 3
echo "--- listening:"; ss -ltnp | grep -E "pid=($kpid|$cpid)," 
echo "--- kubelet log (errors/warnings, first 25):"; grep -E '^[EW]' "$T/kubelet.log" | cut -c1-220 | head -25
echo "--- sysctls kubelet changed:"; for s in $sysctls; do v=$(cat /proc/sys/$s); [ "$v" != "${saved[$s]}" ] && echo "$s: ${saved[$s]} -> $v"; done
echo "--- cgroups during (new, depth<=3):"; find /sys/fs/cgroup -maxdepth 3 -type d | sort | comm -13 "$before_cg" - | sed 's#/sys/fs/cgroup/##' | awk -F/ '{print $2"/"$3}' | sort | uniq -c | head
kill -TERM $kpid; for _ in $(seq 50); do kill -0 $kpid 2>/dev/null || break; sleep 0.1; done
kill -TERM $cpid; for _ in $(seq 50); do kill -0 $cpid 2>/dev/null || break; sleep 0.1; done
echo "--- left behind"
echo "processes: $(pgrep -a -f "$T" || echo none)"
echo "mounts: $(grep -c "$T" /proc/self/mountinfo)"
echo "cgroups (new):"; find /sys/fs/cgroup -type d | sort | comm -13 "$before_cg" - | head -40
echo "iptables (diff):"; iptables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9:]*\]//' | diff "$before_ipt" - || true
echo "/var/lib/kubelet: $(ls -A /var/lib/kubelet 2>&1 | head -3)"; echo "/var/log/pods: $(ls -A /var/log/pods 2>&1)"; echo "/run/containerd: $(ls -A /run/containerd 2>&1)"
# restore sysctls kubelet changed
for s in $sysctls; do [ "$(cat /proc/sys/$s)" != "${saved[$s]}" ] && echo "${saved[$s]}" >/proc/sys/$s && echo "restored $s=${saved[$s]}"; done
# what the harness must undo: the shared bind mount kubelet makes of its root
# dir, the kubepods cgroups, /var/lib/kubelet/device-plugins (hard-coded path)
umount "$T/kubelet"
# Only the top-level /kubepods trees this kubelet made (no cgroupRoot), deepest first.
for d in $(find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -depth -type d 2>/dev/null); do rmdir "$d"; done
[ "$existed_varlib" = no ] && rm -r /var/lib/kubelet
rm -rf "$T" "$before_cg" "$before_ipt"
echo "after cleanup: mounts $(grep -c "$T" /proc/self/mountinfo), top-level kubepods cgroups $(find /sys/fs/cgroup/*/kubepods -maxdepth 0 -type d 2>/dev/null | wc -l), /var/lib/kubelet $(ls -d /var/lib/kubelet 2>&1 | grep -c 'No such')=gone"

#!/usr/bin/env bash
# Smoke test: etcd and kube-apiserver from the multi-call binary, kube-scheduler binding a pod
# (no serving port), and kube-router's firewall alone inside a new network namespace that
# reaches the apiserver through socat (netns 127.0.0.1:6443 -> unix socket -> host loopback).
# Prints the chains and ipsets kube-router made in the namespace and checks the host's are
# untouched. Run as root after build.sh and build-node.sh; needs openssl, kubectl, socat.
set -uo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
N=$repo/controlplane/.cache/bin/node
K=$repo/controlplane/.cache/bin/k8s-controlplane
T=$(mktemp -d /tmp/kr.XXXX)
P=$T/pki; mkdir -p $P
cd "$T" || exit 1
before_ipt=$(mktemp); { iptables-save | grep -v '^#' | sed 's/\[[0-9:]*\]//' || true; } >"$before_ipt"
before_sets=$(mktemp); ipset list -n | sort >"$before_sets"
# PKI
openssl req -x509 -newkey rsa:2048 -nodes -keyout $P/ca.key -out $P/ca.crt -days 1 -subj /CN=smoke-ca -addext basicConstraints=critical,CA:TRUE 2>/dev/null
mk() { openssl req -newkey rsa:2048 -nodes -keyout $P/$1.key -out $P/$1.csr -subj "$2" 2>/dev/null
       openssl x509 -req -in $P/$1.csr -CA $P/ca.crt -CAkey $P/ca.key -CAcreateserial -out $P/$1.crt -days 1 -extfile <(printf '%s\n' "$3") 2>/dev/null; }
mk apiserver /CN=kube-apiserver "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1"
mk admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
openssl genrsa -out $P/sa.key 2048 2>/dev/null; openssl rsa -in $P/sa.key -pubout -out $P/sa.pub 2>/dev/null
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AP=$(freeport)
setsid $K etcd --name=smoke --data-dir=$T/etcd --listen-client-urls=unix://client.sock:0 --advertise-client-urls=unix://client.sock:0 \
  --listen-peer-urls=unix://peer.sock:0 --initial-advertise-peer-urls=unix://peer.sock:0 --initial-cluster=smoke=unix://peer.sock:0 \
  --initial-cluster-state=new --unsafe-no-fsync=true --log-level=warn >$T/etcd.log 2>&1 & epid=$!
setsid $K kube-apiserver --etcd-servers=unix://$T/client.sock:0 --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=$AP \
  --endpoint-reconciler-type=none --authorization-mode=Node,RBAC --allow-privileged=true --service-cluster-ip-range=10.96.0.0/16 \
  --service-account-issuer=https://kubernetes.default.svc --service-account-key-file=$P/sa.pub --service-account-signing-key-file=$P/sa.key \
  --client-ca-file=$P/ca.crt --tls-cert-file=$P/apiserver.crt --tls-private-key-file=$P/apiserver.key --cert-dir=$T/apiserver-certs >$T/apiserver.log 2>&1 & apid=$!
for _ in $(seq 300); do curl -fsS --cacert $P/ca.crt --cert $P/admin.crt --key $P/admin.key https://127.0.0.1:$AP/readyz >/dev/null 2>&1 && break; sleep 0.1; done
kc() { kubectl --kubeconfig=$T/admin-host.kubeconfig "$@"; }
mkkc() { cat >$1 <<KC
apiVersion: v1
kind: Config
clusters: [{name: smoke, cluster: {server: "$2", certificate-authority: $P/ca.crt}}]
users: [{name: admin, user: {client-certificate: $P/admin.crt, client-key: $P/admin.key}}]
contexts: [{name: smoke, context: {cluster: smoke, user: admin}}]
current-context: smoke
KC
}
mkkc $T/admin-host.kubeconfig https://127.0.0.1:$AP
mkkc $T/admin-netns.kubeconfig https://127.0.0.1:6443
kc get --raw /readyz; echo
# the node object kube-router looks up (InternalIP), a pod on it with status IPs, a policy
kc apply -f - <<Y >/dev/null
apiVersion: v1
kind: Node
metadata: {name: smoke-node}
Y
kc patch node smoke-node --subresource=status --type=merge -p '{"status":{"addresses":[{"type":"InternalIP","address":"10.88.0.1"}]}}' >/dev/null
kc create ns web >/dev/null
kc create sa default -n web >/dev/null   # no kube-controller-manager in this smoke test
kc apply -f - <<Y >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: web, labels: {app: db}}
spec: {nodeName: smoke-node, containers: [{name: c, image: localhost/none:x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: web}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {role: client}}}], ports: [{port: 5432, protocol: TCP}]}]
Y
kc patch pod db -n web --subresource=status --type=merge -p '{"status":{"phase":"Running","hostIP":"10.88.0.1","hostIPs":[{"ip":"10.88.0.1"}],"podIP":"10.88.0.5","podIPs":[{"ip":"10.88.0.5"}]}}' >/dev/null
kc get pod db -n web -o jsonpath='{.status.hostIP} {.status.podIP}'; echo
# kube-scheduler from the multi-call binary: no serving port, binds a pod to the node
kc patch node smoke-node --subresource=status --type=merge -p '{"status":{"allocatable":{"cpu":"2","memory":"4Gi","pods":"110"},"capacity":{"cpu":"2","memory":"4Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"smoke","lastHeartbeatTime":null}]}}' >/dev/null
kc get node smoke-node -o jsonpath='taints: {.spec.taints}'; echo
# TaintNodesByCondition put node.kubernetes.io/not-ready on the new Node; only KCM's
# node-lifecycle-controller lifts it (not running here), so lift it by hand.
kc taint node smoke-node node.kubernetes.io/not-ready:NoSchedule- >/dev/null
setsid $K kube-scheduler --kubeconfig=$T/admin-host.kubeconfig --secure-port=0 --leader-elect=false >$T/scheduler.log 2>&1 & sched=$!
kc run free -n web --image=localhost/none:x --restart=Never >/dev/null
t0=$(date +%s.%N)
for _ in $(seq 100); do [ -n "$(kc get pod free -n web -o jsonpath='{.spec.nodeName}')" ] && break; sleep 0.1; done
echo "scheduler bound web/free to '$(kc get pod free -n web -o jsonpath='{.spec.nodeName}')' within $(echo "$(date +%s.%N) - $t0" | bc) s"
echo "scheduler listening: $(ss -ltunp | grep -c "pid=$sched,")"; grep -E '^[EWF]|Unschedul|fail' $T/scheduler.log | cut -c1-250 | head -8; kc get events -n web --field-selector involvedObject.name=free -o custom-columns=R:.reason,M:.message | head -3
kill -TERM $sched; wait $sched 2>/dev/null
# the network namespace and the path to the apiserver: netns 127.0.0.1:6443 -> unix socket -> host 127.0.0.1:$AP
NS=k8ssec-nb-$$; ip netns add $NS; ip -n $NS link set lo up
setsid socat UNIX-LISTEN:$T/api.sock,fork TCP:127.0.0.1:$AP >$T/socat-host.log 2>&1 & s1=$!
setsid ip netns exec $NS socat TCP-LISTEN:6443,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:$T/api.sock >$T/socat-ns.log 2>&1 & s2=$!
sleep 0.3
ip netns exec $NS kubectl --kubeconfig=$T/admin-netns.kubeconfig get node smoke-node -o name
t0=$(date +%s.%N)
NODE_NAME=smoke-node setsid ip netns exec $NS $N/kube-router --run-firewall=true --run-router=false --run-service-proxy=false \
  --kubeconfig=$T/admin-netns.kubeconfig --health-port=0 --service-cluster-ip-range=10.96.0.0/16 --v=1 >$T/kube-router.log 2>&1 & kr=$!
for _ in $(seq 100); do ip netns exec $NS iptables-save -t filter 2>/dev/null | grep -q KUBE-POD-FW && break; sleep 0.1; done
echo "pod firewall chain after $(echo "$(date +%s.%N) - $t0" | bc) s"
echo "--- netns filter table:"; ip netns exec $NS iptables-save -t filter | grep -v '^#' | cut -c1-200
echo "--- netns ipsets:"; ip netns exec $NS ipset list | grep -E '^(Name|Type|Members|[0-9])'
echo "--- listening in netns:"; ip netns exec $NS ss -ltunp
echo "--- kube-router listening anywhere:"; ss -ltunp | grep -c "pid=$kr," 
echo "--- kube-router log (E/W):"; grep -E '^[EWF]' $T/kube-router.log | cut -c1-200 | head
kill -TERM $kr; for _ in $(seq 50); do kill -0 $kr 2>/dev/null || break; sleep 0.1; done
echo "kube-router exited: $(kill -0 $kr 2>/dev/null && echo no || echo yes)"
echo "--- after SIGTERM, in netns: chains $(ip netns exec $NS iptables-save | grep -c '^:KUBE'), sets $(ip netns exec $NS ipset list -n | wc -l)"
kill $s2 $s1; ip netns del $NS
kill -TERM $apid; wait $apid 2>/dev/null; kill -TERM $epid; wait $epid 2>/dev/null
sleep 0.5
echo "--- left behind"
echo "processes: $(pgrep -a -f "$T" || echo none)"
echo "netns: $(ip netns list | grep -c k8ssec-nb-)"
echo "host iptables diff:"; { iptables-save | grep -v '^#' | sed 's/\[[0-9:]*\]//' || true; } | diff "$before_ipt" - && echo none
echo "host ipsets diff:"; ipset list -n | sort | diff "$before_sets" - && echo none
cd /; rm -rf "$T" "$before_ipt" "$before_sets"

# tests/multinode/lib.sh — simulated nodes on one machine for tests/cli_multinode.sh (sourced).
#
#   mn_up N DIR        N nodes node1..nodeN: each a network namespace (ip netns) and a UTS
#                      namespace (its own host name, kept by a bind mount under DIR/ns), joined
#                      by veth pairs on one bridge; node i has 10.77.$MN_NET.i/24 on its eth0. The
#                      file system, the PID space and everything else stay the machine's (like
#                      nodes on a shared file system). Writes DIR/agent, the remote shell Open
#                      MPI's rsh launcher uses (plm_rsh_agent): `agent HOST CMD…` runs CMD in
#                      HOST's namespaces through nsenter. Returns 1 (with MN_WHY) when the machine
#                      does not allow it. The machine itself has 10.77.$MN_NET.254 on the bridge.
#   mn_exec NODE CMD…  run CMD on NODE (its network and UTS namespaces)
#   mn_down            kill by pid every process left in a node's network namespace, delete the
#                      namespaces, the veth pairs and the bridge, unmount the UTS bind mounts;
#                      safe to call twice and after a partial mn_up (the caller's EXIT trap)
# Names carry this shell's pid, so two runs on one machine do not meet.

MN_TAG="cg$$"
MN_NET=$(( $$ % 200 + 20 ))
MN_BR="${MN_TAG}br"
MN_NODES=()
MN_DIR=""
MN_WHY=""
MN_NS_MOUNTED=0

mn_ns() { echo "${MN_TAG}_$1"; }                 # the node's network namespace name
mn_addr() { echo "10.77.$MN_NET.${1#node}"; }     # the node's address

mn_exec() {
  local node=$1; shift
  nsenter --net="/run/netns/$(mn_ns "$node")" --uts="$MN_DIR/ns/$node" -- "$@"
}

mn_up() { # n dir
  local n=$1 i node ns
  MN_DIR=$2
  for p in ip unshare nsenter; do
    command -v "$p" >/dev/null 2>&1 || { MN_WHY="$p not found"; return 1; }
  done
  [ "$(id -u)" = 0 ] || { MN_WHY="network namespaces need root"; return 1; }
  mkdir -p "$MN_DIR/ns"
  # persistent UTS namespaces are bind mounts of nsfs onto files: on a private mount of their own
  mount --bind "$MN_DIR/ns" "$MN_DIR/ns" 2>/dev/null && mount --make-private "$MN_DIR/ns" 2>/dev/null ||
    { MN_WHY="cannot make a private bind mount (no CAP_SYS_ADMIN?)"; return 1; }
  MN_NS_MOUNTED=1
  ip link add "$MN_BR" type bridge 2>/dev/null || { MN_WHY="cannot create a bridge (ip link add type bridge)"; return 1; }
  ip link set "$MN_BR" up
  # the machine itself is 10.77.$MN_NET.254 on the bridge (clients such as sbatch reach the nodes)
  ip addr add "10.77.$MN_NET.254/24" dev "$MN_BR"
  for i in $(seq 1 "$n"); do
    node="node$i"; ns=$(mn_ns "$node")
    ip netns add "$ns" 2>/dev/null || { MN_WHY="cannot create a network namespace (ip netns add)"; return 1; }
    MN_NODES+=("$node")
    touch "$MN_DIR/ns/$node"
    unshare --uts="$MN_DIR/ns/$node" hostname "$node" ||
      { MN_WHY="cannot create a UTS namespace (unshare --uts)"; return 1; }
    ip link add "${MN_TAG}v$i" type veth peer name eth0 netns "$ns" ||
      { MN_WHY="cannot create a veth pair"; return 1; }
    ip link set "${MN_TAG}v$i" master "$MN_BR" up
    ip -n "$ns" addr add "$(mn_addr "$node")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
  cat >"$MN_DIR/agent" <<EOF
#!/bin/sh
# the remote shell of the simulated nodes (tests/multinode/lib.sh): agent [-opts] HOST CMD...
while [ "\${1#-}" != "\$1" ]; do shift; done
host=\$1; shift
case "\$host" in node[0-9]*) ;; *) echo "agent: unknown node '\$host'" >&2; exit 255 ;; esac
exec nsenter --net=/run/netns/${MN_TAG}_\$host --uts=$MN_DIR/ns/\$host -- sh -c "\$*"
EOF
  chmod +x "$MN_DIR/agent"
}

mn_down() {
  local node ns pid i
  for node in "${MN_NODES[@]}"; do
    ns=$(mn_ns "$node")
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
  done
  for i in $(seq 20); do
    left=""
    for node in "${MN_NODES[@]}"; do left="$left$(ip netns pids "$(mn_ns "$node")" 2>/dev/null)"; done
    [ -z "$left" ] && break
    sleep 0.1
  done
  for node in "${MN_NODES[@]}"; do
    ns=$(mn_ns "$node")
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    umount "$MN_DIR/ns/$node" 2>/dev/null
  done
  for i in $(seq 1 "${#MN_NODES[@]}"); do ip link del "${MN_TAG}v$i" 2>/dev/null; done
  ip link del "$MN_BR" 2>/dev/null
  if [ "$MN_NS_MOUNTED" = 1 ]; then umount "$MN_DIR/ns" 2>/dev/null; MN_NS_MOUNTED=0; fi
  MN_NODES=()
}

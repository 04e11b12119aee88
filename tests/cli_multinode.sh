#!/usr/bin/env bash
# tests/cli_multinode.sh — `clipgrid run` on several nodes, simulated on one machine
# (tests/multinode/lib.sh): three nodes node1..node3, each a network and a UTS namespace with its
# own host name and address on a bridge, sharing the file system (as nodes share a parallel file
# system). Open MPI's mpirun runs on node1 and starts its daemons on the other nodes through
# plm_rsh_agent (a script that enters the node's namespaces with nsenter); ranks on different
# nodes talk TCP over the bridge, ranks of one node shared memory. Checks:
#   1. the nodes: own host names, reachable over the bridge, one MPI job across them;
#   2. a sweep on 3 nodes (2 + 1 + 1 ranks): the weights loaded once per node (3 loads for 4
#      ranks), every run once, metrics identical to a one-node run;
#   3. a rank group spanning two nodes (ranks: 2, one rank on node2 and one on node3): the
#      metrics of the one-rank runs (relative 1e-4);
#   4. every rank of one node (the node running the long run) killed with SIGKILL in the middle,
#      then the same command again: every run present exactly once, metrics equal to those of an
#      uninterrupted sweep, the long run resumed from its checkpoint;
#   5. a Slurm cluster over the nodes (munged, slurmctld on node1, one slurmd in each node's
#      namespaces; tests/multinode/slurm.sh): slurm/sweep_cpu.sbatch with --nodes=2 runs the sweep
#      through srun --mpi=pmix on node1 and node2 with the one-node metrics (CG_MULTINODE_SLURM=0
#      leaves it out).
# Every step runs under `timeout`; the namespaces, the bridge and every process in them are
# removed at the end, also on failure. SKIPPED (exit 0) where the machine does not allow network
# namespaces (not root, no CAP_SYS_ADMIN/CAP_NET_ADMIN). `make test-multinode` runs it alone.
# Run from the repository root; $CLIPGRID is the program.
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
ROOT=$PWD
fail=0
# (the status is taken before the message is built: a $(…) in the message would reset $?)
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
for p in mpirun h5dump; do
  command -v "$p" >/dev/null 2>&1 || { echo "SKIP multi-node tests: $p not found"; exit 0; }
done
. "$ROOT/tests/multinode/lib.sh"
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
  declare -F slurm_down >/dev/null && slurm_down
  mn_down; [ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 143' TERM INT HUP
cd "$tmp" || exit 1

echo "-- 1. three simulated nodes"
if ! mn_up 3 "$tmp"; then
  echo "SKIP multi-node tests: $MN_WHY"
  exit 0
fi
names=$(for n in node1 node2 node3; do timeout 10 nsenter --uts="$MN_DIR/ns/$n" hostname; done | tr '\n' ' ')
[ "$names" = "node1 node2 node3 " ]; r=$?; check "each node has its own host name ($names)" $r
# a TCP connection attempt from node1 to node3's address is answered (refused: nothing listens)
probe=$(timeout 10 nsenter --net="/run/netns/$(mn_ns node1)" -- bash -c \
  "exec 3<>/dev/tcp/$(mn_addr node3)/9" 2>&1)
echo "$probe" | grep -q "Connection refused"; r=$?
check "node1 reaches node3 ($(mn_addr node3)) over the bridge" $r

# Open MPI 4.1 over TCP alone (no UCX): its default one-sided component (osc rdma) cannot make the
# scheduler's counter window across nodes (MPI_Win_allocate: MPI_ERR_WIN); sm (node-shared
# windows) and pt2pt (emulated over the TCP BTL) can, so the test chooses them as an Ethernet
# cluster's users must (slurm/README.md)
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none --mca plm_rsh_agent "$tmp/agent"
        --mca plm_rsh_no_tree_spawn 1 --mca oob_tcp_if_include "10.77.$MN_NET.0/24"
        --mca btl_tcp_if_include "10.77.$MN_NET.0/24" --mca btl self,vader,tcp
        --mca btl_vader_single_copy_mechanism none --mca osc sm,pt2pt)
hosts() { # file node:slots…
  local f=$1; shift; : >"$f"
  for h in "$@"; do echo "${h%%:*} slots=${h##*:}" >>"$f"; done
}
on_nodes() { # seconds hostfile np cmd…: mpirun on node1 over the hosts of the file
  local t=$1 hf=$2 np=$3; shift 3
  timeout "$t" nsenter --net="/run/netns/$(mn_ns node1)" --uts="$MN_DIR/ns/node1" -- \
    "${MPIRUN[@]}" --hostfile "$hf" -np "$np" "$@"
}
hosts h3 node1:2 node2:1 node3:1
got=$(on_nodes 60 h3 4 hostname 2>&1 | sort | tr '\n' ' ')
[ "$got" = "node1 node1 node2 node3 " ]; r=$?
check "one MPI job across the nodes: mpirun -np 4 hostname on node1, node1, node2, node3 ($got)" $r

# ---- the sweep ----------------------------------------------------------------------------------
"$CLIPGRID" make-model tiny.safetensors --vision-width 64 --vision-layers 2 --patch 8 --image-res 32 \
  --text-width 64 --text-layers 2 --embed 64 --seed 3 >/dev/null || { echo "FAIL make-model"; exit 1; }
"$CLIPGRID" synth data --layout eurosat,dtd --classes 6 --per-class 8 --test 4 --min-side 40 \
  --max-side 64 >/dev/null || { echo "FAIL synth"; exit 1; }
# 8 cells, 6 runs (zero-shot CLIP is one run per dataset across seeds); coop/eurosat/seed1 long (1500 epochs of 12 steps, about 25 s) so that it can be interrupted
sweep() { # extra lines
  cat <<YAML
name: mn
model: {weights: $tmp/tiny.safetensors}
data: {root: $tmp/data}
setting: base2new
shots: 4
seeds: [1, 2]
datasets: [eurosat, dtd]
methods:
  zsclip: {}
  coop: {epochs: 2, batch: 4}
loader_threads: 1
threads: 1
$1
YAML
}
sweep "overrides:
  - when: {method: coop, dataset: eurosat, seed: 1}
    set: {epochs: 1500, batch: 1}" >s.yaml
N=6
lstem=base2new_coop_eurosat_shots4_seed1  # its running marker (state/<id stem>.running)
# key_of OUT ID / tkey_of OUT ID: a cell's run key (run files and logs are named by it) and its
# training key (checkpoints); keys depend on content only, so any OUT of the sweep tells them
key_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"key":"\([0-9a-f]*\)".*/\1/'; }
tkey_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"training_key":"\([0-9a-f]*\)".*/\1/'; }

metrics() { # a run file's numbers that must not depend on where and on how many ranks it ran
  local f=$1 args=(-m %.9g -d /curves/loss -d /curves/accuracy)
  for g in $(h5ls -r "$f" | awk '$2=="Group" && $1 ~ /^\/evals\// {print $1}'); do
    args+=(-a "$g/accuracy" -a "$g/correct" -a "$g/total" -d "$g/per_class")
  done
  h5dump "${args[@]}" "$f" 2>/dev/null | sed -n 's/^ *([0-9,]*): *//p' | tr ',' '\n' | tr -d ' ' | grep -v '^$'
}
same_metrics() { # a b tol [names…]: run files of b equal to a's (|x−y| <= tol·max(1,|x|)); prints the count
  local a=$1 b=$2 tol=$3 n=0 bad=0 f; shift 3
  local names=("$@"); [ ${#names[@]} = 0 ] && names=($(cd "$a/runs" && ls *.h5))
  for f in "${names[@]}"; do
    n=$((n+1))
    [ -f "$b/runs/$f" ] || { echo "  missing $b/runs/$f" >&2; bad=1; continue; }
    metrics "$a/runs/$f" >ma; metrics "$b/runs/$f" >mb
    [ -s ma ] && [ "$(wc -l <ma)" = "$(wc -l <mb)" ] || { echo "  no or unequal metrics: $f" >&2; bad=1; continue; }
    paste ma mb | awk -v t="$tol" '{ d = $1 - $2; if (d < 0) d = -d; m = $1 < 0 ? -$1 : $1; if (m < 1) m = 1
      if ($1 ~ /nan/ || $2 ~ /nan/ || d > t * m) bad = 1 } END { exit bad }' || { echo "  differs: $f" >&2; bad=1; }
  done
  echo $n
  return $bad
}
runs_in() { find "$1/runs" -maxdepth 1 -name '*.h5' 2>/dev/null | wc -l; }
hosts_of() { # the start table of an output: "host:ranks" per host
  awk '/^ *rank +host/ {t=1; next} t && $4 ~ /^[0-9]+\/[0-9]+$/ {print $2; next} t {t=0}' "$1" |
    sort | uniq -c | awk '{printf "%s:%s ", $2, $1}'
}
attr() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *"*\([^"]*\)"*$/\1/p'; }

echo "-- 2. the sweep on 3 nodes (node1: 2 ranks, node2 and node3: 1 each)"
timeout 300 mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader \
  -np 2 "$CLIPGRID" run s.yaml -o ref --progress 100 >ref.out 2>&1
rc=$?; check "reference: the sweep on one node (mpirun -np 2), exit 0 (rc $rc)" $rc
long=$(key_of ref base2new/coop/eurosat/shots4/seed1)    # its run file and log
longt=$(tkey_of ref base2new/coop/eurosat/shots4/seed1)  # its checkpoint
on_nodes 300 h3 4 "$CLIPGRID" run s.yaml -o n3 --progress 100 >n3.out 2>&1
rc=$?; check "mpirun on node1 over 3 nodes: exit 0 (rc $rc)" $rc
[ "$rc" = 0 ] || tail -n 15 n3.out | sed "s/^/     | /"
got=$(hosts_of n3.out)
[ "$got" = "node1:2 node2:1 node3:1 " ]; r=$?; check "the start table: ranks on node1 (2), node2, node3 ($got)" $r
sed -n '/^ *rank  *host/,/^weights/p' n3.out | sed 's/^/     /'
grep -q "one copy per node in MPI shared memory, 3 nodes$" n3.out; r=$?
check "the weights loaded once per node: 3 loads for 4 ranks ($(grep -o '[0-9]* nodes*$' n3.out))" $r
[ "$(runs_in n3)" = $N ]; r=$?; check "every run present ($(runs_in n3) of $N)" $r
ran_on=$(grep -ho "rank [0-9]* on node[0-9]" n3/logs/*.log | awk '{print $4}' | sort -u | tr '\n' ' ')
# which nodes took runs is not checked: with 6 runs on 4 ranks and the long one on rank 0, whose
# MPI counter only advances when rank 0 calls MPI (slurm/README.md, "known limitation"), the
# other nodes may find the work taken; the rank group of section 3 spans nodes for certain
echo "     runs done on: $ran_on"
n=$(same_metrics ref n3 0); r=$?; check "metrics of all $n runs identical to the one-node sweep" $r

echo "-- 3. a rank group spanning two nodes (ranks: 2 on node2 + node3)"
sweep "ranks: 2" >g.yaml
sed -i 's/^seeds: \[1, 2\]/seeds: [2]/; s/^datasets: \[eurosat, dtd\]/datasets: [dtd]/' g.yaml
hosts h23 node2:1 node3:1
on_nodes 300 h23 2 "$CLIPGRID" run g.yaml -o g --progress 100 >g.out 2>&1
rc=$?; check "mpirun on node1, ranks on node2 and node3: exit 0 (rc $rc)" $rc
got=$(hosts_of g.out)
[ "$got" = "node2:1 node3:1 " ]; r=$?; check "one rank on each of node2 and node3 ($got)" $r
g_coop=g/runs/$(key_of g base2new/coop/dtd/shots4/seed2).h5
got="$(attr "$g_coop" ranks) $(attr g/runs/$(key_of g base2new/zsclip/dtd/shots4/seed2).h5 ranks)"
[ "$got" = "2 2" ]; r=$?; check "both runs ran on a group of 2 ranks ($got)" $r
n=$(same_metrics g ref 1e-4); r=$?
check "the 2-node group's $n runs equal the one-rank runs (relative 1e-4)" $r

echo "-- 4. every rank of one node killed with SIGKILL in the middle, then the same command again"
hosts h2 node1:2 node2:2
on_nodes 300 h2 4 "$CLIPGRID" run s.yaml -o k --progress 100 >k.out 2>&1 &
job=$!
# the long run has a checkpoint, and other runs are finished (2, or as many as 3 s bring: the long run must still be going)
seen=""
for i in $(seq 1200); do
  if [ -f "k/ckpt/$longt.h5" ]; then
    seen=${seen:-$(date +%s)}
    { [ "$(runs_in k)" -ge 2 ] || [ $(( $(date +%s) - seen )) -ge 3 ]; } && break
  fi
  sleep 0.05
done
[ -f "k/ckpt/$longt.h5" ]; r=$?; [ "$r" = 0 ] || echo "     (training key ${longt:-?}: k/ckpt holds $(ls k/ckpt 2>/dev/null | tr "\n" " "))"
check "the long run wrote a checkpoint (the sweep is in the middle)" $r
# the long run's rank (its pid in the running marker) and its node (the start table)
lpid=$(grep -o '"pid": *[0-9]*' "k/state/$lstem.running" 2>/dev/null | grep -o '[0-9]*$')
table() { awk '/^ *rank +host/ {t=1; next} t && $4 ~ /^[0-9]+\/[0-9]+$/ {print $2, $3; next} t {t=0}' k.out; }
victim=$(table | awk -v p="$lpid" '$2 == p {print $1}')
pids=$(table | awk -v h="$victim" '$1 == h {print $2}' | tr '\n' ' ')
[ -n "$victim" ] && [ "$(echo $pids | wc -w)" = 2 ]; r=$?
check "the long run (pid ${lpid:-?}) runs on ${victim:-?}, whose ranks are ${pids:-?}" $r
[ -n "$pids" ] && kill -KILL $pids
done_before=$(runs_in k)
(cd k/runs && md5sum -- *.h5) >k.before 2>/dev/null
wait $job; rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ]; r=$?
check "SIGKILL to both ranks of $victim: the job ends (rc $rc) with $done_before of $N runs done" $r
[ ! -f "k/runs/$long.h5" ] && [ -f "k/ckpt/$longt.h5" ]; r=$?
check "the long run is unfinished, its checkpoint is there" $r
# the killed ranks' claims (OUT/claims) name a host: a rank of that host sees their pids dead and
# takes them over at once, a rank of another node after their heartbeat is CLIPGRID_CLAIM_STALE old
on_nodes 300 h2 4 -x CLIPGRID_CLAIM_STALE=8 "$CLIPGRID" run s.yaml -o k --progress 100 >k2.out 2>&1
rc=$?; check "the same command again: exit 0 (rc $rc)" $rc
took=$(grep -h "claim: took over" "k/logs/$long.log" 2>/dev/null | head -1)
[ -n "$took" ]; r=$?; check "the killed long run's claim was taken over (${took:-no takeover line in its log})" $r
if [ "$done_before" -gt 0 ]; then
  (cd k/runs && md5sum --quiet -c ../../k.before >/dev/null 2>&1); r=$?
  check "the $done_before runs finished before the kill are untouched (not redone)" $r
else
  echo "note: no other run had finished when the node was killed (a slow machine)"
fi
once=$(h5ls k/results.h5/index 2>/dev/null | sed -n 's/.*Dataset {\([0-9]*\).*/\1/p')
[ "$(runs_in k)" = $N ] && [ "$once" = $N ]; r=$?
check "every run present exactly once: $(runs_in k) run files, $once rows in results.h5 /index" $r
n=$(same_metrics ref k 0); r=$?; check "metrics of all $n runs equal those of the uninterrupted sweep" $r
grep -q "resumed from .* at epoch" "k/logs/$long.log"; r=$?
check "the long run resumed from its checkpoint ($(grep -o 'resumed from .*' "k/logs/$long.log" | sed "s|$tmp/||" | head -n 1))" $r

echo "-- 5. a Slurm cluster over the nodes (slurmctld on node1, a slurmd per node): slurm/sweep_cpu.sbatch on 2 nodes"
if [ "${CG_MULTINODE_SLURM:-1}" = 0 ]; then
  echo "SKIP 5. Slurm over the nodes: CG_MULTINODE_SLURM=0"
elif ! { . "$ROOT/tests/slurm/lib.sh" && slurm_install_if_missing; }; then
  echo "SKIP 5. Slurm over the nodes: slurmctld/slurmd/munge are not installed and cannot be installed here"
else
  . "$ROOT/tests/multinode/slurm.sh"
  export PATH="$PATH:/usr/sbin:/sbin"
  t0=$(date +%s)
  mn_slurm_up "$tmp/cluster" 3; up=$?
  check "3-node cluster up in $(( $(date +%s) - t0 )) s (one slurmd per node namespace)" $up
  if [ "$up" = 0 ]; then
    # the ranks' Open MPI: TCP on the bridge, the one-sided components that work over it
    job=$(cd "$ROOT" && OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include="10.77.$MN_NET.0/24" \
          OMPI_MCA_oob_tcp_if_include="10.77.$MN_NET.0/24" OMPI_MCA_osc=sm,pt2pt \
          OMPI_MCA_btl_vader_single_copy_mechanism=none CLIPGRID="$CLIPGRID" \
          timeout 30 sbatch --parsable --nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --time=5 \
          --output="$tmp/job-%j.out" slurm/sweep_cpu.sbatch "$tmp/s.yaml" "$tmp/sl" 2>&1)
    job=${job%%;*}
    st=$(slurm_wait_job "$job" 'COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL' 240)
    ec=$(slurm_job_field "$job" ExitCode)
    [ "$st" = COMPLETED ] && [ "$ec" = 0:0 ]; r=$?
    check "job $job (--nodes=2): COMPLETED with exit 0:0 (got $st, $ec)" $r
    [ "$r" = 0 ] || { sed 's/^/     | /' "$tmp/job-$job.out" 2>/dev/null | tail -n 30; slurm_dump_logs; }
    got=$(hosts_of "$tmp/job-$job.out")
    [ "$got" = "node1:1 node2:1 " ]; r=$?; check "srun --mpi=pmix placed one rank on node1 and one on node2 ($got)" $r
    grep -q "one copy per node in MPI shared memory, 2 nodes$" "$tmp/job-$job.out"; r=$?
    check "the weights loaded once on each of the 2 nodes" $r
    [ "$(runs_in sl)" = $N ]; r=$?; check "every run present ($(runs_in sl) of $N)" $r
    n=$(same_metrics ref sl 0); r=$?; check "metrics of all $n runs identical to the one-node sweep" $r
  fi
  slurm_down; r=$?
  check "Slurm daemons stopped by pid, no job process left" $r
fi

echo "-- 6. teardown"
mn_down
left=$(ip netns list 2>/dev/null | grep -c "^${MN_TAG}_")
! ip link show "$MN_BR" >/dev/null 2>&1 && [ "$left" = 0 ]; r=$?
check "namespaces, veth pairs and bridge removed ($left namespaces left)" $r
exit $fail

# tests/slurm/lib.sh — a private single-node Slurm cluster for the tests (sourced, not run).
#
#   slurm_install_if_missing    apt-get install the daemons and clients when one is missing (root)
#   slurm_up DIR                write DIR/etc/slurm.conf, start munged, slurmctld and slurmd with every
#                               file (key, sockets, state, spool, logs, pid files) under DIR, wait
#                               (bounded) for the node to be idle; exports SLURM_CONF
#   slurm_down                  cancel the jobs, end by pid any job process still there (found by
#                               this cluster's SLURM_CONF or slurmd's marker in its environment), stop
#                               slurmd, slurmctld and munged by their pids (SIGTERM, bounded wait,
#                               SIGKILL); returns 1 if anything had to be killed
#   slurm_job_field JOBID KEY   one field of `scontrol show job` (JobState, ExitCode, Restarts, ...)
#   slurm_wait_job JOBID STATES SECONDS   poll until the job's state is one of STATES (a|b|c)
#
# The cluster: proctrack/linuxproc, task/none, jobacct_gather/none (no cgroups), select/cons_tres,
# MpiDefault=pmix, EnforcePartLimits=ALL, one node named `hostname -s` at 127.0.0.1 with the CPUs and
# memory `slurmd -C` finds and two stand-in GPUs (character devices made with mknod, so the GPU
# batch script can be submitted; SLURM_TEST_GPUS says how many there are), one partition "test".
# Ports are picked free and job ids start at random, so two clusters on one machine do not meet.
# Every wait is bounded; the caller runs slurm_down from its EXIT trap.

SLURM_DIR=""
SLURM_PIDS=()      # munged slurmctld slurmd, in start order
SLURM_LOG_LINES=40 # lines of each daemon log printed when something fails

slurm_log() { echo "     [slurm] $*"; }

# apt-get install (as root) when a program is missing: about 5 s on Debian 12; returns 1 when the
# programs are missing and cannot be installed
SLURM_PACKAGES="slurmctld slurmd slurm-client munge"
slurm_install_if_missing() {
  local p missing=0 log="${TMPDIR:-/tmp}/slurm-apt.$$.log" start
  for p in slurmctld slurmd sbatch scontrol srun munged mungekey; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$p" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] && return 0
  [ "$(id -u)" = 0 ] || { slurm_log "Slurm is not installed and this is not root"; return 1; }
  slurm_log "installing $SLURM_PACKAGES (apt-get)"
  start=$(date +%s)
  # shellcheck disable=SC2086
  { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q --no-install-recommends \
      $SLURM_PACKAGES >"$log" 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >>"$log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q --no-install-recommends \
        $SLURM_PACKAGES >>"$log" 2>&1; }; } ||
    { tail -n 20 "$log"; rm -f "$log"; return 1; }
  rm -f "$log"
  slurm_log "installed in $(( $(date +%s) - start )) s"
}

# true when TCP port $1 on 127.0.0.1 accepts connections or is bound by a listener
slurm_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
  command -v ss >/dev/null 2>&1 && ss -ltnH "sport = :$1" 2>/dev/null | grep -q . && return 0
  return 1
}

# prints two free consecutive ports from a start that depends on this shell's pid
slurm_free_ports() {
  local p=$(( 20000 + ($$ * 7) % 20000 )) tries=0
  while [ $tries -lt 200 ]; do
    if ! slurm_port_busy "$p" && ! slurm_port_busy "$((p + 1))"; then echo "$p $((p + 1))"; return 0; fi
    p=$(( p + 2 )); tries=$(( tries + 1 ))
    [ $p -ge 60000 ] && p=20000
  done
  return 1
}

# the CPUs=... RealMemory=... part of `slurmd -C`'s first line (the hardware slurmd will report)
slurm_node_hw() {
  slurmd -C 2>/dev/null | head -n 1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' | tr '\n' ' '
}

slurm_make_gpus() { # dir host
  local d="$1" host="$2"
  # two stand-in GPUs for --gpus-per-node requests: Slurm wants a character device per GPU, so
  # each is a copy of /dev/null's node (task/none binds nothing; Slurm only sets
  # CUDA_VISIBLE_DEVICES). Without mknod the node has no GPUs (SLURM_TEST_GPUS=0).
  if mknod "$d/dev/gpu0" c 1 3 2>/dev/null && mknod "$d/dev/gpu1" c 1 3 2>/dev/null; then
    SLURM_TEST_GPUS=2
    echo "NodeName=$host Name=gpu File=$d/dev/gpu[0-1]" >"$d/etc/gres.conf"
  else
    SLURM_TEST_GPUS=0
    : >"$d/etc/gres.conf"
  fi
}

slurm_write_conf() { # dir host ctld_port slurmd_port
  local d="$1" host="$2" hw gres; hw=$(slurm_node_hw)
  [ -n "$hw" ] || hw="CPUs=$(nproc)"
  slurm_make_gpus "$d" "$host"
  gres=""; [ "$SLURM_TEST_GPUS" -gt 0 ] && gres="Gres=gpu:$SLURM_TEST_GPUS"
  cat >"$d/etc/slurm.conf" <<EOF
# written by tests/slurm/lib.sh for a throw-away single-node cluster
ClusterName=cgtest$$
# job ids differ between clusters on one machine: Open MPI names its shared-memory segments and
# session folders after the PMIx namespace, which is the Slurm job and step id
FirstJobId=$(( (RANDOM * 32768 + RANDOM) % 50000000 + 1000 ))
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$3
SlurmdPort=$4
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/run/munge.sock,cred_expire=5
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=${SLURM_TEST_DEBUG:-info}
${SLURM_TEST_FLAGS:+DebugFlags=$SLURM_TEST_FLAGS}
TmpFS=$d/tmpfs
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
EnforcePartLimits=ALL
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
MessageTimeout=10
SlurmdTimeout=60
InactiveLimit=0
SchedulerParameters=sched_interval=2
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 $hw $gres State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=60 State=UP OverSubscribe=NO
EOF
  # an empty cgroup.conf keeps slurmd from looking for cgroup defaults
  : >"$d/etc/cgroup.conf"
}

slurm_dump_logs() {
  local f
  for f in "$SLURM_DIR"/log/*.log "$SLURM_DIR"/log/*.out; do
    [ -s "$f" ] || continue
    echo "     --- tail of $f"
    tail -n "$SLURM_LOG_LINES" "$f" | sed 's/^/     /'
  done
}

# starts one daemon in the foreground mode in the background; records its pid
slurm_start_daemon() { # name command...
  local name="$1"; shift
  "$@" >"$SLURM_DIR/log/$name.out" 2>&1 &
  SLURM_PIDS+=("$!")
  echo "$!" >"$SLURM_DIR/run/$name.bgpid"
}

slurm_node_state() {
  timeout 15 scontrol show node "$SLURM_HOST" 2>/dev/null | tr ' ' '\n' | sed -n 's/^State=//p' | head -n 1
}

slurm_up() {
  SLURM_DIR="$1"
  SLURM_HOST=$(hostname -s)
  local ports ctld_port slurmd_port i
  mkdir -p "$SLURM_DIR"/{dev,etc,munge/run,state,spool,run,log,tmpfs}
  # munged wants its socket's folders executable by all and its key private
  chmod 711 "$SLURM_DIR" "$SLURM_DIR/munge"; chmod 755 "$SLURM_DIR/munge/run"
  chmod 700 "$SLURM_DIR/state" "$SLURM_DIR/spool"
  ports=$(slurm_free_ports) || { slurm_log "no free ports"; return 1; }
  read -r ctld_port slurmd_port <<<"$ports"
  slurm_write_conf "$SLURM_DIR" "$SLURM_HOST" "$ctld_port" "$slurmd_port"
  export SLURM_CONF="$SLURM_DIR/etc/slurm.conf"
  # a job's own settings from the caller's environment must not leak into the test's submissions
  unset SLURM_JOB_ID SLURM_JOBID SLURM_NTASKS SLURM_NNODES SLURM_CPUS_PER_TASK SBATCH_PARTITION

  # this cluster's own key (never /etc/munge's)
  mungekey -c -k "$SLURM_DIR/munge/munge.key" >/dev/null 2>&1 ||
    head -c 1024 /dev/urandom >"$SLURM_DIR/munge/munge.key"
  chmod 600 "$SLURM_DIR/munge/munge.key"
  slurm_start_daemon munged munged -F --socket="$SLURM_DIR/munge/run/munge.sock" \
    --key-file="$SLURM_DIR/munge/munge.key" --log-file="$SLURM_DIR/log/munged.log" \
    --pid-file="$SLURM_DIR/munge/run/munged.pid" --seed-file="$SLURM_DIR/munge/munged.seed"
  for i in $(seq 1 50); do
    [ -S "$SLURM_DIR/munge/run/munge.sock" ] && break
    sleep 0.2
  done
  if ! timeout 15 munge -S "$SLURM_DIR/munge/run/munge.sock" -n </dev/null |
       timeout 15 unmunge -S "$SLURM_DIR/munge/run/munge.sock" >/dev/null 2>&1; then
    slurm_log "munged did not come up"; slurm_dump_logs; return 1
  fi

  slurm_start_daemon slurmctld slurmctld -D -i -f "$SLURM_CONF"
  for i in $(seq 1 60); do
    timeout 15 scontrol ping 2>/dev/null | grep -q 'is UP' && break
    kill -0 "${SLURM_PIDS[1]}" 2>/dev/null || break   # slurmctld exited
    sleep 0.5
  done
  timeout 15 scontrol ping 2>/dev/null | grep -q "is UP" || { slurm_log "slurmctld did not answer (30 s at most)"; slurm_dump_logs; return 1; }

  slurm_start_daemon slurmd env CG_SLURM_TEST_DIR="$SLURM_DIR" slurmd -D -f "$SLURM_CONF" -N "$SLURM_HOST"
  local state=""
  for i in $(seq 1 120); do
    state=$(slurm_node_state)
    case "$state" in IDLE|IDLE+*) break;; esac
    kill -0 "${SLURM_PIDS[2]}" 2>/dev/null || break   # slurmd exited
    sleep 0.5
  done
  case "$state" in
    IDLE|IDLE+*) slurm_log "node $SLURM_HOST idle (ports $ctld_port/$slurmd_port, $SLURM_DIR)";;
    *) slurm_log "node $SLURM_HOST not idle (60 s at most; state '$state')"; slurm_dump_logs; return 1;;
  esac
}

slurm_job_field() { # jobid key
  [ -n "$1" ] || return 0
  timeout 15 scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# polls `scontrol show job` until the state matches one of the |-separated STATES; prints the state
slurm_wait_job() { # jobid states seconds
  local deadline=$(( $(date +%s) + $3 )) st=""
  [ -n "$1" ] || { echo "no job"; return 1; }
  while :; do
    st=$(slurm_job_field "$1" JobState)
    if [ -n "$st" ] && echo "$st" | grep -Eqx "$2"; then echo "$st"; return 0; fi
    [ "$(date +%s)" -ge "$deadline" ] && { echo "${st:-unknown}"; return 1; }
    sleep 0.5
  done
}

# pids of the processes this cluster started for its jobs: slurmstepd carries slurmd's marker
# CG_SLURM_TEST_DIR; batch shells and tasks carry this cluster's SLURM_CONF and a SLURM_JOB_ID
slurm_stray_pids() {
  local p d env
  [ -n "$SLURM_DIR" ] || return 0
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    for d in "${SLURM_PIDS[@]}"; do [ "$p" = "$d" ] && continue 2; done
    env="/proc/$p/environ"
    if grep -qzxF "CG_SLURM_TEST_DIR=$SLURM_DIR" "$env" 2>/dev/null ||
       { grep -qzxF "SLURM_CONF=$SLURM_DIR/etc/slurm.conf" "$env" 2>/dev/null &&
         grep -qz '^SLURM_JOB_ID=' "$env" 2>/dev/null; }; then
      echo "$p"
    fi
  done
}

slurm_stop_pid() { # pid seconds: TERM, bounded wait, then KILL; returns 1 if it had to be killed
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 $(( $2 * 5 ))); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    # a zombie child of this shell: reap it
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  return 1
}

slurm_down() {
  local rc=0 i pid strays
  [ -n "$SLURM_DIR" ] || return 0
  if [ "${#SLURM_PIDS[@]}" -ge 2 ]; then
    # SIGTERM to every job now, SIGKILL after KillWait (10 s); wait for the queue to empty (bounded)
    timeout 20 scancel --quiet --partition=test 2>/dev/null
    local deadline=$(( $(date +%s) + 20 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      timeout 5 squeue -h -t RUNNING,COMPLETING,PENDING,CONFIGURING 2>/dev/null | grep -q . || break
      sleep 0.2
    done
  fi
  # the job processes end with their jobs; whatever is left is ended by its pid
  for i in $(seq 1 25); do
    strays=$(slurm_stray_pids); [ -z "$strays" ] && break; sleep 0.2
  done
  for pid in $strays; do slurm_log "left-over job process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"; kill -KILL "$pid" 2>/dev/null; rc=1; done
  for (( i=${#SLURM_PIDS[@]}-1; i>=0; i-- )); do
    slurm_stop_pid "${SLURM_PIDS[$i]}" 15 || { slurm_log "daemon pid ${SLURM_PIDS[$i]} had to be killed"; rc=1; }
  done
  SLURM_PIDS=()
  for pid in $(slurm_stray_pids); do slurm_log "left-over process $pid after the daemons"; kill -KILL "$pid" 2>/dev/null; rc=1; done
  return $rc
}

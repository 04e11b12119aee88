# tests/multinode/slurm.sh — a Slurm cluster over the simulated nodes of tests/multinode/lib.sh
# (sourced after it and tests/slurm/lib.sh): munged once (its socket is a file, reachable from
# every network namespace), slurmctld on node1, one slurmd in each node's namespaces
# (NodeName=nodeI NodeAddr=10.77.$MN_NET.I, each with the machine's CPUs and its own spool, pid
# and log files), one partition "test". Reuses tests/slurm/lib.sh for the daemons' records
# (SLURM_PIDS), the job helpers and slurm_down (which stops everything by pid).
#   mn_slurm_up DIR N   start it for node1..nodeN; 0 when every node is idle

mn_slurm_conf() { # dir n port_ctld port_slurmd
  local d=$1 n=$2 hw nodes=""
  hw=$(slurm_node_hw); [ -n "$hw" ] || hw="CPUs=$(nproc)"
  cat >"$d/etc/slurm.conf" <<CONF
# written by tests/multinode/slurm.sh for a throw-away cluster of simulated nodes
ClusterName=cgmn$$
FirstJobId=$(( (RANDOM * 32768 + RANDOM) % 50000000 + 1000 ))
SlurmctldHost=node1($(mn_addr node1))
SlurmctldPort=$3
SlurmdPort=$4
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/run/munge.sock,cred_expire=5
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.%n.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.%n.log
SlurmctldDebug=info
SlurmdDebug=info
TmpFS=$d/tmpfs/%n
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
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
MessageTimeout=10
SlurmdTimeout=60
InactiveLimit=0
SchedulerParameters=sched_interval=2
CONF
  for i in $(seq 1 "$n"); do
    echo "NodeName=node$i NodeAddr=$(mn_addr "node$i") $hw State=UNKNOWN" >>"$d/etc/slurm.conf"
  done
  echo "PartitionName=test Nodes=node[1-$n] Default=YES MaxTime=60 State=UP OverSubscribe=NO" >>"$d/etc/slurm.conf"
  : >"$d/etc/cgroup.conf"
}

mn_slurm_idle() { # n: every node idle
  local i st
  for i in $(seq 1 "$1"); do
    st=$(timeout 15 scontrol show node "node$i" 2>/dev/null | tr ' ' '\n' | sed -n 's/^State=//p' | head -n 1)
    case "$st" in IDLE|IDLE+*) ;; *) return 1;; esac
  done
}

mn_slurm_up() { # dir n
  local d=$1 n=$2 i
  SLURM_DIR=$d
  mkdir -p "$d"/{dev,etc,munge/run,state,spool,run,log,tmpfs}
  chmod 711 "$d" "$d/munge"; chmod 755 "$d/munge/run"; chmod 700 "$d/state" "$d/spool"
  for i in $(seq 1 "$n"); do mkdir -p "$d/spool/node$i" "$d/tmpfs/node$i"; done
  mn_slurm_conf "$d" "$n" 6817 6818
  export SLURM_CONF="$d/etc/slurm.conf"
  unset SLURM_JOB_ID SLURM_JOBID SLURM_NTASKS SLURM_NNODES SLURM_CPUS_PER_TASK SBATCH_PARTITION
  mungekey -c -k "$d/munge/munge.key" >/dev/null 2>&1 || head -c 1024 /dev/urandom >"$d/munge/munge.key"
  chmod 600 "$d/munge/munge.key"
  slurm_start_daemon munged munged -F --socket="$d/munge/run/munge.sock" \
    --key-file="$d/munge/munge.key" --log-file="$d/log/munged.log" \
    --pid-file="$d/munge/run/munged.pid" --seed-file="$d/munge/munged.seed"
  for i in $(seq 1 50); do [ -S "$d/munge/run/munge.sock" ] && break; sleep 0.2; done
  slurm_start_daemon slurmctld nsenter --net="/run/netns/$(mn_ns node1)" --uts="$MN_DIR/ns/node1" -- \
    slurmctld -D -i -f "$SLURM_CONF"
  for i in $(seq 1 60); do
    timeout 15 scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.5
  done
  timeout 15 scontrol ping 2>/dev/null | grep -q "is UP" || { slurm_log "slurmctld did not answer"; slurm_dump_logs; return 1; }
  for i in $(seq 1 "$n"); do
    slurm_start_daemon "slurmd.node$i" nsenter --net="/run/netns/$(mn_ns "node$i")" \
      --uts="$MN_DIR/ns/node$i" -- env CG_SLURM_TEST_DIR="$d" slurmd -D -f "$SLURM_CONF" -N "node$i"
  done
  for i in $(seq 1 120); do mn_slurm_idle "$n" && break; sleep 0.5; done
  mn_slurm_idle "$n" || { slurm_log "not every node idle in 60 s"; timeout 15 sinfo -N 2>&1 | sed 's/^/     /'; slurm_dump_logs; return 1; }
  slurm_log "$n nodes idle: $(timeout 15 sinfo -h -N -o '%N' | tr '\n' ' ')"
}

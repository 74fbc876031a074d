#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on loopback for the projects tests (the slurm backend).
#
#   slurm.sh start   -> prints the path of its slurm.conf (export it as SLURM_CONF)
#   slurm.sh stop      (also munged, when start started it)
#   slurm.sh running   -> exit status 0 when the cluster is up
#
# Installs slurm-wlm and munge from Debian's packages when missing (needs root, as slurmd does). The
# node uses proctrack/linuxproc and task/none, so no cgroup set-up is needed; without accounting
# storage, finished jobs are read with `scontrol show job` (kept MinJobAge seconds).
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_SLURM_PORT (default 54340,
# slurmd uses the next port). Only the slurm.conf path goes to stdout.
set -euo pipefail

BASE_DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/slurm"
CONF="$BASE_DIR/slurm.conf"
PORT="${MLFLOW_TS_SLURM_PORT:-54340}"
NODE="$(hostname -s)"
MUNGED_PID=/run/munge/munged.pid

log() { echo "slurm.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
ready() { SLURM_CONF="$CONF" sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null && return 0
  [[ $(id -u) -eq 0 ]] || die "slurm-wlm and munge are missing; install them as root: apt-get install slurm-wlm munge"
  log "installing slurm-wlm and munge from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >&2; } \
    || die "could not install slurm-wlm and munge"
}

start_munge() {
  if munge -n >/dev/null 2>&1; then return 0; fi
  [[ -s /etc/munge/munge.key ]] || { mungekey --create >&2 || die "could not create /etc/munge/munge.key"; }
  mkdir -p /run/munge /var/log/munge /var/lib/munge "$BASE_DIR"
  # Marked, so that stop ends munged only when this script started it (not a system one).
  touch "$BASE_DIR/munged.ours"
  chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge 2>/dev/null || true
  if id munge >/dev/null 2>&1; then
    su -s /bin/sh munge -c 'munged' >&2 2>&1 || munged --force >&2
  else
    munged --force >&2
  fi
  for _ in $(seq 1 50); do munge -n >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "munged did not start"
}

write_conf() {
  mkdir -p "$BASE_DIR/state" "$BASE_DIR/spool"
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  cat > "$CONF" <<CONF
ClusterName=mlflowts
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$BASE_DIR/state
SlurmdSpoolDir=$BASE_DIR/spool
SlurmctldPidFile=$BASE_DIR/slurmctld.pid
SlurmdPidFile=$BASE_DIR/slurmd.pid
SlurmctldLogFile=$BASE_DIR/slurmctld.log
SlurmdLogFile=$BASE_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=other Nodes=$NODE MaxTime=INFINITE State=UP
CONF
  echo "CgroupPlugin=autodetect" > "$BASE_DIR/cgroup.conf"
}

cmd_start() {
  if [[ -f "$CONF" ]] && ready; then
    log "already running"
    echo "$CONF"
    return 0
  fi
  install_packages
  start_munge
  write_conf
  export SLURM_CONF="$CONF"
  pid_alive "$BASE_DIR/slurmctld.pid" || slurmctld -i >&2 || die "slurmctld did not start; see $BASE_DIR/slurmctld.log"
  pid_alive "$BASE_DIR/slurmd.pid" || slurmd -N "$NODE" >&2 || die "slurmd did not start; see $BASE_DIR/slurmd.log"
  for _ in $(seq 1 100); do
    if ready; then echo "$CONF"; return 0; fi
    scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
    sleep 0.2
  done
  tail -n 20 "$BASE_DIR/slurmctld.log" "$BASE_DIR/slurmd.log" >&2 2>/dev/null || true
  die "the node did not become idle; see $BASE_DIR/*.log"
}

cmd_stop() {
  for daemon in slurmd slurmctld; do
    if pid_alive "$BASE_DIR/$daemon.pid"; then kill "$(cat "$BASE_DIR/$daemon.pid")"; fi
  done
  if [[ -f "$BASE_DIR/munged.ours" ]]; then
    pid_alive "$MUNGED_PID" && kill "$(cat "$MUNGED_PID")"
    rm -f "$BASE_DIR/munged.ours"
  fi
  return 0
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  running) [[ -f "$CONF" ]] && ready ;;
  *) die "usage: $0 {start|stop|running}" ;;
esac

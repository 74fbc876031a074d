#!/usr/bin/env bash
# Throwaway S3 served by Ceph's RADOS Gateway (a real S3 implementation) on loopback for the test suite.
#
#   radosgw.sh start   -> prints http://127.0.0.1:$PORT
#   radosgw.sh stop
#   radosgw.sh running  -> exit status 0 when it is up (started by this script)
#
# start installs Debian's radosgw, ceph-mon and ceph-osd with apt-get when they are missing (as root),
# then builds a single-node cluster below the services directory: one monitor, one OSD keeping its data
# in memory (memstore), and radosgw with the beast frontend, all on 127.0.0.1 with cephx off. It creates
# one S3 user with fixed keys (below; test credentials, not secrets) and waits until S3 answers. A
# cluster that already answers is reused; a half-started one is torn down and built again. stop stops
# the daemons and throws the cluster away; the logs stay in $BASE_DIR/log until the next start.
#
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_RGW_PORT (S3, default 54332),
# MLFLOW_TS_RGW_MON_PORT (monitor, default 54349), MLFLOW_TS_RGW_OSD_PORTS (the OSD's port range,
# default 54350-54369). Only the URL goes to stdout so callers can do URL=$(radosgw.sh start).
set -euo pipefail

SERVICE=radosgw
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

BASE_DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/radosgw"
CLUSTER="$BASE_DIR/cluster"
LOG_DIR="$BASE_DIR/log"
RUN_DIR="$BASE_DIR/run"
HOST=127.0.0.1
PORT="${MLFLOW_TS_RGW_PORT:-54332}"
MON_PORT="${MLFLOW_TS_RGW_MON_PORT:-54349}"
OSD_PORTS="${MLFLOW_TS_RGW_OSD_PORTS:-54350-54369}"
# The S3 user's keys. Fixed so that the tests and scripts/test.sh know them without asking.
ACCESS_KEY=mlflow-ts-test
SECRET_KEY=mlflow-ts-test-secret
export CEPH_CONF="$CLUSTER/ceph.conf"

url() { echo "http://$HOST:$PORT"; }
# radosgw answers an anonymous ListBuckets with the owner 'anonymous'; other S3 servers (moto) do not,
# so a foreign server on the port is not taken for ours.
s3_answers() { curl -s --max-time 2 "$(url)/" 2>/dev/null | grep -q '<ID>anonymous</ID>'; }
# Every ceph command gets a time limit: without a monitor they would retry forever.
ceph_cmd() { timeout 20 ceph --connect-timeout 15 "$@"; }

ensure_installed() {
  local missing=() bin
  for bin in radosgw radosgw-admin ceph-mon ceph-osd monmaptool ceph; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  ((${#missing[@]} == 0)) && return 0
  [[ $EUID -eq 0 ]] || svc_die "missing ${missing[*]} and not root; run: apt-get install radosgw ceph-mon ceph-osd"
  svc_log "installing radosgw, ceph-mon and ceph-osd with apt-get (missing: ${missing[*]})..."
  local apt=(apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold radosgw ceph-mon ceph-osd)
  # Fresh CI images often ship without package lists: retry once after an update.
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2; } \
    || svc_die "apt-get install radosgw ceph-mon ceph-osd failed"
  for bin in radosgw radosgw-admin ceph-mon ceph-osd monmaptool ceph; do
    command -v "$bin" >/dev/null || svc_die "installed the packages but $bin is still missing"
  done
}

write_config() {
  local fsid=$1
  cat >"$CEPH_CONF" <<CONF
# Written by scripts/services/radosgw.sh: a one-node test cluster, data in memory, loopback only.
[global]
fsid = $fsid
mon host = [v2:$HOST:$MON_PORT]
mon initial members = a
# No cephx: nothing but loopback can reach the cluster, and it saves keyrings.
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
# Without cephx only the crc mode can be negotiated; radosgw would otherwise insist on 'secure'.
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms bind port min = ${OSD_PORTS%-*}
ms bind port max = ${OSD_PORTS#*-}
public addr = $HOST
cluster addr = $HOST
run dir = $RUN_DIR
admin socket = $RUN_DIR/\$name.asok
log file = $LOG_DIR/\$name.log
keyring = $CLUSTER/keyring
# One OSD: one copy, few placement groups, rules that pick OSDs rather than hosts.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# The monitor's store is tiny; never stop because /tmp is fuller than a real cluster would like.
mon data avail crit = 0
mon data avail warn = 0
osd objectstore = memstore
memstore device bytes = 2147483648
# Two shared cores: few threads.
osd op num shards = 1
osd op num threads per shard = 2

[mon.a]
mon data = $CLUSTER/mon.a

[osd.0]
osd data = $CLUSTER/osd.0

[client.rgw]
rgw frontends = beast endpoint=$HOST:$PORT
rgw thread pool size = 64
CONF
}

osd_up() {
  ceph_cmd osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'
}

cmd_start() {
  command -v curl >/dev/null || svc_die "curl is needed to check that radosgw answers"
  ensure_installed
  # Reused only when it is ours: another server answering on the port must not pass for radosgw.
  if svc_pid "$RUN_DIR/rgw.pid" >/dev/null && s3_answers; then
    svc_log "already answering on $HOST:$PORT"
    url
    return 0
  fi
  local started=$SECONDS
  # A start that fails part-way stops what it started (the logs stay for the post-mortem).
  trap 'stop_daemons; svc_log "start-up failed; daemons stopped, logs kept in $LOG_DIR"' EXIT
  # Whatever is left of an earlier cluster (stopped, crashed or half started) goes: build a new one.
  stop_daemons
  rm -rf "$CLUSTER" "$RUN_DIR" "$LOG_DIR"
  mkdir -p "$CLUSTER/mon.a" "$CLUSTER/osd.0" "$RUN_DIR" "$LOG_DIR"
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  write_config "$fsid"
  svc_log "building a one-node Ceph cluster in $CLUSTER (logs: $LOG_DIR)"

  monmaptool --create --fsid "$fsid" --addv a "[v2:$HOST:$MON_PORT]" "$CLUSTER/monmap" >"$LOG_DIR/setup.log" 2>&1 \
    || { svc_tail "$LOG_DIR/setup.log"; svc_die "monmaptool failed"; }
  ceph-mon --mkfs -i a --monmap "$CLUSTER/monmap" >>"$LOG_DIR/setup.log" 2>&1 \
    || { svc_tail "$LOG_DIR/setup.log" "$LOG_DIR/mon.a.log"; svc_die "ceph-mon --mkfs failed"; }
  svc_spawn "$RUN_DIR/mon.pid" "$LOG_DIR/mon.out" ceph-mon -i a -f

  # Registers OSD 0 with the monitor (this also waits for the monitor to answer).
  ceph_cmd osd new "$osd_uuid" 0 >>"$LOG_DIR/setup.log" 2>&1 \
    || { svc_tail "$LOG_DIR/setup.log" "$LOG_DIR/mon.out" "$LOG_DIR/mon.a.log"; svc_die "the monitor did not accept the OSD (is port $MON_PORT taken?)"; }
  ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$LOG_DIR/setup.log" 2>&1 \
    || { svc_tail "$LOG_DIR/setup.log" "$LOG_DIR/osd.0.log"; svc_die "ceph-osd --mkfs failed"; }
  svc_spawn "$RUN_DIR/osd.pid" "$LOG_DIR/osd.out" ceph-osd -i 0 -f
  svc_wait 60 osd_up "the OSD to come up" \
    "$RUN_DIR/mon.pid" "$LOG_DIR/mon.a.log" "$RUN_DIR/osd.pid" "$LOG_DIR/osd.0.log"

  # The user (and with it radosgw's pools) is made straight in RADOS, before the gateway starts.
  timeout 60 radosgw-admin user create --uid=mlflow-ts --display-name="mlflow-ts tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$LOG_DIR/setup.log" 2>&1 \
    || { svc_tail "$LOG_DIR/setup.log" "$LOG_DIR/osd.0.log"; svc_die "radosgw-admin user create failed"; }

  svc_spawn "$RUN_DIR/rgw.pid" "$LOG_DIR/rgw.out" radosgw -n client.rgw -f
  svc_wait 60 s3_answers "radosgw to answer on $HOST:$PORT (is the port taken?)" \
    "$RUN_DIR/mon.pid" "$LOG_DIR/mon.a.log" "$RUN_DIR/osd.pid" "$LOG_DIR/osd.0.log" \
    "$RUN_DIR/rgw.pid" "$LOG_DIR/client.rgw.log"
  trap - EXIT
  svc_log "up in $((SECONDS - started))s"
  url
}

stop_daemons() {
  svc_stop "$RUN_DIR/rgw.pid" radosgw
  svc_stop "$RUN_DIR/osd.pid" ceph-osd
  svc_stop "$RUN_DIR/mon.pid" ceph-mon
}

cmd_stop() {
  if ! svc_pid "$RUN_DIR/rgw.pid" >/dev/null && ! svc_pid "$RUN_DIR/osd.pid" >/dev/null \
    && ! svc_pid "$RUN_DIR/mon.pid" >/dev/null; then
    svc_log "not running"
  fi
  stop_daemons
  rm -rf "$CLUSTER" "$RUN_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  running) svc_pid "$RUN_DIR/rgw.pid" >/dev/null ;;
  *) svc_die "usage: $0 {start|stop|running}" ;;
esac

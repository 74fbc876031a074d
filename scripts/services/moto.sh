#!/usr/bin/env bash
# Throwaway S3 (moto's server mode) on loopback for the test suite.
#
#   moto.sh start   -> prints http://127.0.0.1:$PORT
#   moto.sh stop
#   moto.sh running  -> exit status 0 when it is up (started by this script)
#
# Needs Python 3 with moto's server extra; when it is missing (a fresh CI machine) it is installed with pip
# (the machine's package index: a local mirror here).
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_MOTO_PORT (default 54330),
# MLFLOW_TS_PYTHON (default python3). Only the URL goes to stdout so callers can do URL=$(moto.sh start).
set -euo pipefail

SERVICE=moto
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

BASE_DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/moto"
PID_FILE="$BASE_DIR/server.pid"
LOG_FILE="$BASE_DIR/server.log"
PORT="${MLFLOW_TS_MOTO_PORT:-54330}"
HOST=127.0.0.1
PYTHON="${MLFLOW_TS_PYTHON:-python3}"

url() { echo "http://$HOST:$PORT"; }
# moto answers S3's ListBuckets at / ; any HTTP answer means it is up.
is_ready() { svc_http_answers "$(url)/"; }

cmd_start() {
  command -v curl >/dev/null || svc_die "curl is needed to check that moto answers"
  if is_ready; then
    svc_log "already answering on $HOST:$PORT"
    url
    return 0
  fi
  if ! "$PYTHON" -c 'import moto.server, flask, werkzeug' 2>/dev/null; then
    svc_log "installing moto's server mode with pip"
    "$PYTHON" -m pip install --quiet 'moto[server]' >&2 \
      || svc_die "could not install moto for $PYTHON; run: $PYTHON -m pip install 'moto[server]'"
  fi
  mkdir -p "$BASE_DIR"
  svc_log "starting on $HOST:$PORT (log: $LOG_FILE)"
  svc_spawn "$PID_FILE" "$LOG_FILE" "$PYTHON" -m moto.server -H "$HOST" -p "$PORT"
  svc_wait 20 is_ready "moto to answer on $HOST:$PORT (is the port taken?)" "$PID_FILE" "$LOG_FILE"
  url
}

cmd_stop() {
  svc_pid "$PID_FILE" >/dev/null || svc_log "not running (no live process in $PID_FILE)"
  svc_stop "$PID_FILE" moto
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  running) svc_pid "$PID_FILE" >/dev/null ;;
  *) svc_die "usage: $0 {start|stop|running}" ;;
esac

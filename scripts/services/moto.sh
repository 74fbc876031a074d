#!/usr/bin/env bash
# Throwaway S3 (moto's server mode) on loopback for the test suite.
#
#   moto.sh start   -> prints http://127.0.0.1:$PORT
#   moto.sh stop
#
# Needs Python 3 with moto's server extra; when it is missing (a fresh CI machine) it is installed with pip
# (the machine's package index: a local mirror here).
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_MOTO_PORT (default 54330),
# MLFLOW_TS_PYTHON (default python3). Only the URL goes to stdout so callers can do URL=$(moto.sh start).
set -euo pipefail

BASE_DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/moto"
PID_FILE="$BASE_DIR/server.pid"
LOG_FILE="$BASE_DIR/server.log"
PORT="${MLFLOW_TS_MOTO_PORT:-54330}"
HOST=127.0.0.1
PYTHON="${MLFLOW_TS_PYTHON:-python3}"

log() { echo "moto.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
url() { echo "http://$HOST:$PORT"; }
# moto answers S3's ListBuckets at / ; any HTTP answer means it is up.
is_ready() { curl -s -o /dev/null --max-time 2 "$(url)/" 2>/dev/null; }
our_pid() { [[ -s "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null && cat "$PID_FILE"; }

cmd_start() {
  command -v curl >/dev/null || die "curl is needed to check that moto answers"
  if is_ready; then
    log "already answering on $HOST:$PORT"
    url
    return 0
  fi
  if ! "$PYTHON" -c 'import moto.server, flask, werkzeug' 2>/dev/null; then
    log "installing moto's server mode with pip"
    "$PYTHON" -m pip install --quiet 'moto[server]' >&2 \
      || die "could not install moto for $PYTHON; run: $PYTHON -m pip install 'moto[server]'"
  fi
  mkdir -p "$BASE_DIR"
  log "starting on $HOST:$PORT (log: $LOG_FILE)"
  # setsid + nohup: the server outlives this script and the shell that ran it.
  setsid nohup "$PYTHON" -m moto.server -H "$HOST" -p "$PORT" >"$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  for _ in $(seq 1 100); do
    if is_ready; then url; return 0; fi
    if ! our_pid >/dev/null; then
      tail -n 20 "$LOG_FILE" >&2 2>/dev/null || true
      die "moto exited during start-up (is port $PORT taken?)"
    fi
    sleep 0.2
  done
  tail -n 20 "$LOG_FILE" >&2 2>/dev/null || true
  die "moto started but $HOST:$PORT does not answer; see $LOG_FILE"
}

cmd_stop() {
  local pid
  if ! pid=$(our_pid); then
    log "not running (no live process in $PID_FILE)"
    rm -f "$PID_FILE"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && die "moto (pid $pid) did not stop"
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) die "usage: $0 {start|stop}" ;;
esac

#!/usr/bin/env bash
# Throwaway Azure Blob Storage (Azurite's blob service, the root devDependency) on loopback for the tests.
#
#   azurite.sh start   -> prints the development connection string for it
#   azurite.sh stop
#
# Azurite is installed by `npm install` (node_modules/.bin/azurite-blob); its data lives in a folder
# below the services directory and is thrown away by stop.
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_AZURITE_PORT (default 54331).
# Only the connection string goes to stdout so callers can do CONN=$(azurite.sh start).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BASE_DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/azurite"
DATA_DIR="$BASE_DIR/data"
PID_FILE="$BASE_DIR/server.pid"
LOG_FILE="$BASE_DIR/server.log"
PORT="${MLFLOW_TS_AZURITE_PORT:-54331}"
HOST=127.0.0.1
BIN="$ROOT/node_modules/.bin/azurite-blob"
# Azurite's single built-in account and its published development key (not a secret).
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

log() { echo "azurite.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
connection_string() {
  echo "DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=http://$HOST:$PORT/$ACCOUNT;"
}
# Any HTTP answer from the blob endpoint means it is up.
is_ready() { curl -s -o /dev/null --max-time 2 "http://$HOST:$PORT/$ACCOUNT?comp=list" 2>/dev/null; }
our_pid() { [[ -s "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null && cat "$PID_FILE"; }

cmd_start() {
  command -v curl >/dev/null || die "curl is needed to check that Azurite answers"
  if is_ready; then
    log "already answering on $HOST:$PORT"
    connection_string
    return 0
  fi
  [[ -x "$BIN" ]] || die "$BIN is missing; run npm install"
  mkdir -p "$DATA_DIR"
  log "starting on $HOST:$PORT (data: $DATA_DIR, log: $LOG_FILE)"
  # setsid + nohup: the server outlives this script and the shell that ran it.
  setsid nohup node "$BIN" --blobHost "$HOST" --blobPort "$PORT" --location "$DATA_DIR" \
    --silent --disableTelemetry --skipApiVersionCheck --loose >"$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  for _ in $(seq 1 100); do
    if is_ready; then connection_string; return 0; fi
    if ! our_pid >/dev/null; then
      tail -n 20 "$LOG_FILE" >&2 2>/dev/null || true
      die "Azurite exited during start-up (is port $PORT taken?)"
    fi
    sleep 0.2
  done
  tail -n 20 "$LOG_FILE" >&2 2>/dev/null || true
  die "Azurite started but $HOST:$PORT does not answer; see $LOG_FILE"
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
  kill -0 "$pid" 2>/dev/null && die "Azurite (pid $pid) did not stop"
  rm -f "$PID_FILE"
  rm -rf "$DATA_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) die "usage: $0 {start|stop}" ;;
esac

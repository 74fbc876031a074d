#!/usr/bin/env bash
# Throwaway Azure Blob Storage (Azurite's blob service, the root devDependency) on loopback for the tests.
#
#   azurite.sh start   -> prints the development connection string for it
#   azurite.sh stop
#   azurite.sh running  -> exit status 0 when it is up (started by this script)
#
# Azurite is installed by `npm install` (node_modules/.bin/azurite-blob); its data lives in a folder
# below the services directory and is thrown away by stop.
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_AZURITE_PORT (default 54331).
# Only the connection string goes to stdout so callers can do CONN=$(azurite.sh start).
set -euo pipefail

SERVICE=azurite
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

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

connection_string() {
  echo "DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=http://$HOST:$PORT/$ACCOUNT;"
}
# Any HTTP answer from the blob endpoint means it is up.
is_ready() { svc_http_answers "http://$HOST:$PORT/$ACCOUNT?comp=list"; }

cmd_start() {
  command -v curl >/dev/null || svc_die "curl is needed to check that Azurite answers"
  if is_ready; then
    svc_log "already answering on $HOST:$PORT"
    connection_string
    return 0
  fi
  [[ -x "$BIN" ]] || svc_die "$BIN is missing; run npm install"
  mkdir -p "$DATA_DIR"
  svc_log "starting on $HOST:$PORT (data: $DATA_DIR, log: $LOG_FILE)"
  svc_spawn "$PID_FILE" "$LOG_FILE" node "$BIN" --blobHost "$HOST" --blobPort "$PORT" --location "$DATA_DIR" \
    --silent --disableTelemetry --skipApiVersionCheck --loose
  svc_wait 20 is_ready "Azurite to answer on $HOST:$PORT (is the port taken?)" "$PID_FILE" "$LOG_FILE"
  connection_string
}

cmd_stop() {
  svc_pid "$PID_FILE" >/dev/null || svc_log "not running (no live process in $PID_FILE)"
  svc_stop "$PID_FILE" Azurite
  rm -rf "$DATA_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  running) svc_pid "$PID_FILE" >/dev/null ;;
  *) svc_die "usage: $0 {start|stop|running}" ;;
esac

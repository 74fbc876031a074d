#!/usr/bin/env bash
# Throwaway PostgreSQL 15 on loopback for the test suite.
#
#   postgres.sh start          -> prints postgresql://postgres@127.0.0.1:$PORT/postgres
#   postgres.sh stop
#   postgres.sh running  -> exit status 0 when it is up (started by this script)
#   postgres.sh createdb NAME  -> (re)creates NAME, prints its URI
#
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_PG_PORT (default 54329).
# Only the URI goes to stdout so callers can do URL=$(postgres.sh start).
set -euo pipefail

BASE_DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/postgres"
PGDATA="$BASE_DIR/data"
LOG_FILE="$BASE_DIR/server.log"
PORT="${MLFLOW_TS_PG_PORT:-54329}"
HOST=127.0.0.1
# Use the Debian layout explicitly: /usr/local/bin may hold stray symlinks or other versions.
PG_BIN=/usr/lib/postgresql/15/bin

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
uri() { echo "postgresql://postgres@$HOST:$PORT/$1"; }
# The server refuses to run as root; cd / so postgres never inherits an unreadable cwd (e.g. /root).
as_pg() { (cd / && runuser -u postgres -- "$@"); }
is_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PORT" 2>/dev/null; }

ensure_installed() {
  if [[ ! -x "$PG_BIN/postgres" || ! -x "$PG_BIN/psql" ]]; then
    [[ $EUID -eq 0 ]] || die "PostgreSQL 15 missing in $PG_BIN and not root, cannot apt-get install it"
    log "installing postgresql-15 with apt-get..."
    # We run our own cluster; stop the package from creating (and starting) the system 'main' one.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/50-no-main-cluster.conf
    local apt=(apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold postgresql-15)
    # Fresh CI images often ship without package lists: retry once after an update.
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2; } \
      || die "apt-get install postgresql-15 failed"
    [[ -x "$PG_BIN/postgres" ]] || die "installed postgresql-15 but $PG_BIN/postgres is still missing"
  fi
  # The Debian package creates this user; a hand-made install may not have.
  id -u postgres >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
}

init_cluster() {
  # PG_VERSION is written last-ish by initdb: without it the dir is empty or a half-done init.
  [[ -s "$PGDATA/PG_VERSION" ]] && return 0
  log "initialising cluster in $PGDATA"
  mkdir -p "$BASE_DIR"
  rm -rf "$PGDATA"
  chown postgres:postgres "$BASE_DIR"
  as_pg test -w "$BASE_DIR" || die "user postgres cannot write $BASE_DIR (is a parent directory private?)"
  # trust auth covers local socket and the 127.0.0.1/::1 host lines of the default pg_hba.conf.
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions >&2 \
    || die "initdb failed"
  # Tests open many short-lived pools; keep memory small. mmap DSM avoids tiny /dev/shm in containers.
  cat >> "$PGDATA/postgresql.conf" <<CONF

# --- added by scripts/services/postgres.sh (test server) ---
max_connections = 200
shared_buffers = 64MB
dynamic_shared_memory_type = mmap
listen_addresses = '$HOST'
unix_socket_directories = '$PGDATA'
CONF
}

cmd_start() {
  ensure_installed
  if is_ready; then
    log "already running on $HOST:$PORT"
    uri postgres
    return 0
  fi
  init_cluster
  log "starting on $HOST:$PORT (log: $LOG_FILE)"
  # Port is passed at start time so MLFLOW_TS_PG_PORT can change without re-initdb.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOG_FILE" -o "-p $PORT" -w -t 60 start >&2; then
    tail -n 20 "$LOG_FILE" >&2 2>/dev/null || true
    die "pg_ctl start failed (is port $PORT taken, or this data dir running on another port?)"
  fi
  # pg_ctl -w checks the socket; confirm TCP on loopback is what tests will actually use.
  for _ in $(seq 1 30); do is_ready && { uri postgres; return 0; }; sleep 1; done
  die "server started but $HOST:$PORT is not accepting connections; see $LOG_FILE"
}

cmd_stop() {
  if [[ ! -x "$PG_BIN/pg_ctl" || ! -s "$PGDATA/PG_VERSION" ]] || ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "not running"
    return 0
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >&2 || die "pg_ctl stop failed"
}

cmd_createdb() {
  local name="${1:-}"
  # Restricting names keeps the URI valid without percent-encoding.
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_-]{0,62}$ ]] || die "usage: $0 createdb NAME (letters, digits, _ or -)"
  cmd_start >/dev/null
  # FORCE drops leftover connections from a previous crashed test run.
  PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -v name="$name" -h "$HOST" -p "$PORT" -U postgres -d postgres >&2 <<'SQL' \
    || die "could not create database $name"
DROP DATABASE IF EXISTS :"name" WITH (FORCE);
CREATE DATABASE :"name";
SQL
  uri "$name"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  running) is_ready ;;
  createdb) shift; cmd_createdb "$@" ;;
  *) die "usage: $0 {start|stop|running|createdb NAME}" ;;
esac

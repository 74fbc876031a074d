#!/usr/bin/env bash
# Throwaway MariaDB (Debian's mariadb-server) on loopback, the MySQL source of the import tests.
#
#   mariadb.sh start    -> prints mysql://mlflow:mlflow@127.0.0.1:$PORT/ (a user that may create databases)
#   mariadb.sh stop
#   mariadb.sh running  -> exit status 0 when it is up (started by this script)
#
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services), MLFLOW_TS_MARIADB_PORT (default 33069).
# Only the URI goes to stdout so callers can do URI=$(mariadb.sh start).
set -euo pipefail
SERVICE=mariadb
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

BASE_DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/mariadb"
DATA_DIR="$BASE_DIR/data"
SOCKET="$BASE_DIR/mysqld.sock"
PID_FILE="$BASE_DIR/mariadbd.pid"
LOG_FILE="$BASE_DIR/server.log"
PORT="${MLFLOW_TS_MARIADB_PORT:-33069}"
HOST=127.0.0.1
USER_NAME=mlflow
USER_PASSWORD=mlflow

uri() { echo "mysql://$USER_NAME:$USER_PASSWORD@$HOST:$PORT/"; }
# Root connects through the socket (unix_socket authentication); the tests use the TCP user.
as_root_sql() { mariadb --protocol=socket -S "$SOCKET" -u root "$@"; }
is_ready() {
  mariadb-admin --protocol=tcp -h "$HOST" -P "$PORT" -u "$USER_NAME" "-p$USER_PASSWORD" ping >/dev/null 2>&1
}
socket_ready() { as_root_sql -e 'select 1' >/dev/null 2>&1; }

ensure_installed() {
  command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] && return 0
  [[ $EUID -eq 0 ]] || svc_die "mariadbd missing and not root, cannot apt-get install mariadb-server"
  svc_log "installing mariadb-server with apt-get..."
  # The package's own service is not started in containers (policy-rc.d); ours runs from $DATA_DIR.
  local apt=(apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold mariadb-server)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2; } \
    || svc_die "apt-get install mariadb-server failed"
  [[ -x /usr/sbin/mariadbd ]] || svc_die "installed mariadb-server but /usr/sbin/mariadbd is missing"
}

init_data_dir() {
  # The mysql system schema is the last thing mariadb-install-db writes that we rely on.
  [[ -d "$DATA_DIR/mysql" ]] && return 0
  svc_log "initialising $DATA_DIR"
  mkdir -p "$BASE_DIR"
  rm -rf "$DATA_DIR"
  chown mysql:mysql "$BASE_DIR"
  mariadb-install-db --user=mysql --datadir="$DATA_DIR" --auth-root-authentication-method=socket \
    --skip-test-db >"$BASE_DIR/install.log" 2>&1 || { svc_tail "$BASE_DIR/install.log"; svc_die "mariadb-install-db failed"; }
}

cmd_start() {
  ensure_installed
  if is_ready; then
    svc_log "already running on $HOST:$PORT"
    uri
    return 0
  fi
  init_data_dir
  svc_log "starting on $HOST:$PORT (log: $LOG_FILE)"
  # --no-defaults: the machine's /etc/mysql settings (its socket, its port) are not ours. Small buffers:
  # the tests hold a few small databases.
  svc_spawn "$PID_FILE" "$LOG_FILE" /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DATA_DIR" \
    --socket="$SOCKET" --port="$PORT" --bind-address="$HOST" --pid-file="$BASE_DIR/mariadbd.own.pid" \
    --innodb-buffer-pool-size=64M --skip-name-resolve --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_general_ci
  svc_wait 60 socket_ready "MariaDB's socket" "$PID_FILE" "$LOG_FILE"
  # The tests' user, with a password, over TCP (as MLflow users connect).
  as_root_sql <<SQL || svc_die "could not create the test user"
CREATE USER IF NOT EXISTS '$USER_NAME'@'$HOST' IDENTIFIED BY '$USER_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'$HOST';
SQL
  svc_wait 30 is_ready "MariaDB on $HOST:$PORT" "$PID_FILE" "$LOG_FILE"
  uri
}

cmd_stop() {
  if ! svc_pid "$PID_FILE" >/dev/null; then
    svc_log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  svc_stop "$PID_FILE" mariadbd
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  running) is_ready ;;
  *) svc_die "usage: $0 {start|stop|running}" ;;
esac

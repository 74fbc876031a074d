# Shared start/wait/stop logic of the throwaway test services (moto.sh, azurite.sh, radosgw.sh).
# Source it after setting SERVICE (the script's name, for messages). Every message goes to stderr, so a
# script's stdout carries only what callers capture (a URL or a connection string).
#
# A service process is started detached (setsid + nohup: it outlives the script and the shell that ran
# it) with its pid in a pid file and its output in a log file; both live in the service's directory.

svc_log() { echo "$SERVICE.sh: $*" >&2; }
svc_die() { svc_log "error: $*"; exit 1; }

# svc_pid PID_FILE: prints the pid recorded there when that process is alive; fails otherwise.
svc_pid() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }

# svc_http_answers URL: true when anything answers HTTP there (any status).
svc_http_answers() { curl -s -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# svc_spawn PID_FILE LOG_FILE COMMAND...: starts COMMAND detached, recording its pid.
svc_spawn() {
  local pid_file=$1 log_file=$2
  shift 2
  setsid nohup "$@" >"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
}

# svc_tail LOG_FILE...: the end of each log, on stderr, to explain a failure.
svc_tail() {
  local f
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    echo "--- last lines of $f ---" >&2
    tail -n 20 "$f" >&2 || true
  done
}

# svc_wait SECONDS CHECK DESCRIPTION PID_FILE LOG_FILE [PID_FILE LOG_FILE]...
# Polls CHECK (a command or function) every 0.2 s until it succeeds. Fails with the logs when one of
# the processes exits meanwhile or the time runs out.
svc_wait() {
  local seconds=$1 check=$2 what=$3
  shift 3
  local pairs=("$@") logs=() i
  for ((i = 1; i < ${#pairs[@]}; i += 2)); do logs+=("${pairs[i]}"); done
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    "$check" && return 0
    for ((i = 0; i < ${#pairs[@]}; i += 2)); do
      if ! svc_pid "${pairs[i]}" >/dev/null; then
        svc_tail "${pairs[i + 1]}"
        svc_die "the process of ${pairs[i]} exited while waiting for $what"
      fi
    done
    sleep 0.2
  done
  svc_tail "${logs[@]}"
  svc_die "timed out after ${seconds}s waiting for $what; logs: ${logs[*]}"
}

# svc_stop PID_FILE NAME: stops that process (TERM, then KILL after 5 s) and removes the pid file.
svc_stop() {
  local pid_file=$1 name=$2 pid
  if ! pid=$(svc_pid "$pid_file"); then
    rm -f "$pid_file"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    svc_log "$name (pid $pid) ignored TERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
    kill -0 "$pid" 2>/dev/null && svc_die "$name (pid $pid) did not stop"
  fi
  rm -f "$pid_file"
}

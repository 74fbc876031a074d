#!/usr/bin/env bash
# Debian's Chromium for the web UI's end-to-end tests and bench/ui.ts.
#
#   chromium.sh start   -> installs chromium with apt-get when missing, prints its path
#
# Only the path goes to stdout so callers can do CHROMIUM=$(chromium.sh start).
set -euo pipefail

BIN=/usr/bin/chromium

log() { echo "chromium.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

ensure_installed() {
  [[ -x "$BIN" ]] && return
  [[ $EUID -eq 0 ]] || die "$BIN is missing and this is not root, so it cannot apt-get install chromium"
  log "installing chromium with apt-get..."
  local apt=(apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core)
  # Fresh CI images often ship without package lists: retry once after an update.
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2; } \
    || die "apt-get install chromium failed"
  [[ -x "$BIN" ]] || die "installed chromium but $BIN is still missing"
}

case "${1:-start}" in
  start)
    ensure_installed
    echo "$BIN"
    ;;
  *)
    die "usage: chromium.sh start"
    ;;
esac

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

# A CJK and a colour emoji font (small Debian packages), so the UI's CJK-and-emoji test sees the
# font stack fall back to real glyphs rather than boxes.
ensure_fonts() {
  fc-list 2>/dev/null | grep -q "WenQuanYi Micro Hei" && fc-list 2>/dev/null | grep -q "Noto Color Emoji" && return
  [[ $EUID -eq 0 ]] || { log "no CJK or emoji font, and not root to install them; that test will skip"; return; }
  log "installing fonts-wqy-microhei and fonts-noto-color-emoji with apt-get..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-wqy-microhei fonts-noto-color-emoji >&2 \
    || log "could not install the CJK and emoji fonts; that test will skip"
}

case "${1:-start}" in
  start)
    ensure_installed
    ensure_fonts
    echo "$BIN"
    ;;
  *)
    die "usage: chromium.sh start"
    ;;
esac

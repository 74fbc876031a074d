#!/usr/bin/env bash
# A real container engine for the docker_env tests: Debian's rootful podman, with a tiny local image.
#
#   podman.sh start   -> prints the directory holding the engine's set-up (see below)
#   podman.sh stop    -> removes that directory (images and containers included)
#   podman.sh running  -> exit status 0 when it is up (started by this script)
#   podman.sh image node-python -> prints the name of a local image with Node and Python (built once)
#
# Installs podman and runc from Debian's packages when missing (needs root). podman is daemonless, so
# "start" only prepares: in $DIR it writes containers.conf and storage.conf (use them through
# CONTAINERS_CONF and CONTAINERS_STORAGE_CONF, so the machine's own podman set-up is left alone),
# $DIR/bin/docker (a link to podman, for callers that look for `docker` first) and imports the image
# localhost/mlflow-ts-test/busybox:1, built without any registry from Debian's busybox-static package.
#
# Why these settings: the test machines have hybrid cgroups (v1 controllers plus an empty v2
# hierarchy), which crun refuses, so the runtime is runc with the cgroupfs manager; there is no systemd
# journal, so events go to a file; overlay mounts are not needed with vfs storage; and the process may
# not raise resource limits (no CAP_SYS_RESOURCE), so containers get the current hard limits instead
# of podman's larger defaults, which runc would fail to set.
# The node-python image (for model images, `mlflow-ts models build-docker --base-image`) is Debian
# bookworm with python3 and python3-venv, made by mmdebstrap from Debian's mirror, plus this machine's
# own node binary (Debian's nodejs is older than 20); it is built on request only, as it takes a minute.
# Measured on the test machine: about 30 s to install the packages, 3 s for the image and first run.
# Env: MLFLOW_TS_SERVICES_DIR (default /tmp/mlflow-ts-services). Only the directory goes to stdout.
set -euo pipefail

DIR="${MLFLOW_TS_SERVICES_DIR:-/tmp/mlflow-ts-services}/podman"
IMAGE=localhost/mlflow-ts-test/busybox:1

log() { echo "podman.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

install_packages() {
  command -v podman >/dev/null && command -v runc >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "podman and runc are missing and this is not root, so they cannot be installed (apt-get install podman runc)"
  log "installing podman and runc from Debian's packages"
  local apt=(apt-get install -y -qq --no-install-recommends podman runc)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2; } \
    || die "apt-get install podman runc failed"
}

write_conf() {
  mkdir -p "$DIR/bin"
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [[ $nofile == unlimited ]] && nofile=1048576
  # runc fails to set a process limit above kernel.pid_max (32768 on the test machines), even when the
  # hard limit is higher.
  local pid_max
  pid_max=$(cat /proc/sys/kernel/pid_max)
  if [[ $nproc == unlimited ]] || ((nproc > pid_max)); then nproc=$pid_max; fi
  cat >"$DIR/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  cat >"$DIR/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$DIR/storage"
runroot = "$DIR/run"
CONF
  ln -sf "$(command -v podman)" "$DIR/bin/docker"
}

engine() { CONTAINERS_CONF="$DIR/containers.conf" CONTAINERS_STORAGE_CONF="$DIR/storage.conf" podman "$@"; }

import_image() {
  engine image exists "$IMAGE" && return 0
  log "building $IMAGE from Debian's busybox-static package"
  local work
  work=$(mktemp -d)
  chmod 755 "$work" # apt-get download runs as _apt
  trap 'rm -rf "$work"' RETURN
  (cd "$work" && apt-get download busybox-static >&2) \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && (cd "$work" && apt-get download busybox-static >&2); } \
    || die "apt-get download busybox-static failed"
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/root"
  mkdir -p "$work/root"/{tmp,etc,proc,sys,dev,usr/bin,sbin,usr/sbin}
  local applet
  for applet in $("$work/root/bin/busybox" --list); do
    [[ -e "$work/root/bin/$applet" ]] || ln -s busybox "$work/root/bin/$applet"
  done
  tar -C "$work/root" -cf "$work/image.tar" .
  engine import --change 'CMD ["/bin/sh"]' "$work/image.tar" "$IMAGE" >&2 || die "podman import failed"
}

NODE_PYTHON_IMAGE=localhost/mlflow-ts-test/node-python:1

node_python_image() {
  engine image exists "$NODE_PYTHON_IMAGE" && return 0
  command -v mmdebstrap >/dev/null || {
    [[ $EUID -eq 0 ]] || die "mmdebstrap is missing and this is not root (apt-get install mmdebstrap)"
    log "installing mmdebstrap from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >&2 \
      || die "apt-get install mmdebstrap failed"
  }
  local node work
  node=$(command -v node) || die "node is not on PATH"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  log "building $NODE_PYTHON_IMAGE: Debian bookworm with python3 (mmdebstrap) and $node"
  local drop=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*')
  mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates "${drop[@]}" \
    bookworm "$work/root.tar" http://deb.debian.org/debian >&2 || die "mmdebstrap failed"
  mkdir -p "$work/add/usr/local/bin"
  cp "$node" "$work/add/usr/local/bin/node"
  tar -C "$work/add" -rf "$work/root.tar" ./usr/local/bin/node
  engine import --change 'CMD ["/bin/bash"]' "$work/root.tar" "$NODE_PYTHON_IMAGE" >&2 || die "podman import failed"
}

check_runs() {
  local out
  out=$(engine run --rm "$IMAGE" sh -c 'echo container-ok' 2>&1) || die "podman cannot run a container here: $out"
  [[ $out == *container-ok* ]] || die "the test container did not answer: $out"
}

case "${1:-start}" in
  start)
    install_packages
    write_conf
    engine info >/dev/null 2>"$DIR/info.err" || die "podman info failed: $(cat "$DIR/info.err")"
    import_image
    check_runs
    echo "$DIR"
    ;;
  stop)
    [[ -d $DIR ]] || exit 0
    engine rm --all --force >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  running)
    [[ -d $DIR ]]
    ;;
  image)
    [[ ${2:-} == node-python ]] || die "usage: podman.sh image node-python"
    [[ -d $DIR ]] || die "podman is not set up: run podman.sh start first"
    node_python_image
    echo "$NODE_PYTHON_IMAGE"
    ;;
  *)
    die "usage: podman.sh start|stop|running|image node-python"
    ;;
esac

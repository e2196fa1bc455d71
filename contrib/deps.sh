# shellcheck shell=bash
# contrib/deps.sh -- shared set-up steps for contrib/check.sh and
# contrib/quickstart.sh.  Source it (bash); do not run it.
#
# Why one file: both scripts must install the same Debian packages, the same
# test JavaScript dependencies and build the same way, and the two copies
# would drift apart.
#
# Every function is idempotent, never reads stdin and returns non-zero on
# failure even when called where "set -e" is off (in an "if" or "||").  The
# caller sets AZB_ROOT to the top of the source tree (the directory holding
# configure.ac) and runs under "set -euo pipefail".
#
# Functions:
#   azb_log MSG...                 one progress line on stderr
#   azb_warn MSG...                a warning on stderr
#   azb_as_root CMD...             run CMD as root (sudo when not root)
#   azb_missing_packages           print the Debian packages still missing
#   azb_install_packages           apt-get install what is missing (no-op otherwise)
#   azb_ensure_fuse                load the fuse module if /dev/fuse is absent
#   azb_ensure_node_modules        npm ci in tests/ when needed
#   azb_autoreconf                 autoreconf -fi in the source tree
#   azb_configure DIR ARGS...      out-of-tree configure of DIR with ARGS
#   azb_configure_once DIR ARGS... the same, unless DIR is configured already
#   azb_find_binary DIR            print the path of the built azblobfs

# Debian packages needed to build azblobfs and its Debian package (make deb)
# and to run its tests (t_package.sh: lintian, systemd-analyze and the fstab
# generator, strace; python3 listens for the daemon's readiness datagrams
# in t_notify.sh).  nodejs and npm
# are handled apart: an existing Node.js of a suitable version is kept, whatever
# package (or none) it came from.
AZB_DEB_PACKAGES=(
  build-essential autoconf automake libtool pkg-config
  libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev libxml2-dev
  libcmocka-dev attr curl rclone valgrind util-linux-extra
  debhelper lintian systemd strace python3 fio rsync python3-prometheus-client
)
AZB_NODE_MIN_MAJOR=18

azb_log() { printf '%s: %s\n' "${AZB_PROG:-azblobfs}" "$*" >&2; }
azb_warn() { printf '%s: warning: %s\n' "${AZB_PROG:-azblobfs}" "$*" >&2; }

azb_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif ! command -v sudo >/dev/null 2>&1; then
    azb_warn "not root and sudo is missing: cannot run '$*'"
    return 1
  elif [ -t 0 ]; then
    sudo "$@"           # a person at a terminal may type a password
  else
    sudo -n "$@"        # no terminal: never wait for a password
  fi
}

azb_pkg_installed() { # PKG
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [ "$status" = "install ok installed" ]
}

azb_node_ok() { # true if node exists and is at least AZB_NODE_MIN_MAJOR
  local major
  command -v node >/dev/null 2>&1 || return 1
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
  [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -ge "$AZB_NODE_MIN_MAJOR" ]
}

azb_missing_packages() {
  local p
  for p in "${AZB_DEB_PACKAGES[@]}"; do
    azb_pkg_installed "$p" || printf '%s\n' "$p"
  done
  if ! azb_node_ok; then
    # Debian's own Node.js; never replaces a suitable node that is there.
    printf '%s\n' nodejs npm
  elif ! command -v npm >/dev/null 2>&1; then
    printf '%s\n' npm
  fi
}

azb_install_packages() {
  local missing
  if ! command -v dpkg-query >/dev/null 2>&1; then
    azb_warn "dpkg-query not found: not a Debian system, install by hand: ${AZB_DEB_PACKAGES[*]} nodejs npm"
    return 0
  fi
  mapfile -t missing < <(azb_missing_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    azb_log "all required packages are installed"
    return 0
  fi
  azb_log "installing: ${missing[*]}"
  azb_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
  azb_as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
  if ! azb_node_ok; then
    azb_warn "node is still missing or older than v$AZB_NODE_MIN_MAJOR"
    return 1
  fi
}

azb_ensure_fuse() {
  if [ ! -e /dev/fuse ]; then
    if command -v modprobe >/dev/null 2>&1; then
      azb_as_root modprobe fuse 2>/dev/null || true
    fi
  fi
  if [ ! -e /dev/fuse ]; then
    azb_warn "/dev/fuse does not exist (no fuse kernel module?): mounts will fail"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ] && { [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ]; }; then
    # fusermount3 is setuid root, so this is usually fine; say it anyway.
    azb_warn "/dev/fuse is not read-write for $(id -un); mounting relies on fusermount3"
  fi
  if ! command -v fusermount3 >/dev/null 2>&1; then
    azb_warn "fusermount3 not found (package fuse3): unmounting will fail"
  fi
}

azb_ensure_node_modules() {
  local tests="$AZB_ROOT/tests"
  local stamp="$tests/node_modules/.package-lock.json"
  [ -f "$tests/package-lock.json" ] || {
    azb_warn "tests/package-lock.json is missing: skipping npm ci"
    return 0
  }
  if [ -x "$tests/node_modules/.bin/azurite-blob" ] && [ -f "$stamp" ] &&
    ! [ "$tests/package-lock.json" -nt "$stamp" ]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || {
    azb_warn "npm not found: cannot install the test dependencies"
    return 1
  }
  azb_log "installing the test JavaScript dependencies (npm ci in tests/)"
  (cd "$tests" && npm ci --no-audit --no-fund --loglevel=error </dev/null) || return 1
  touch "$stamp"
}

azb_autoreconf() {
  azb_log "autoreconf -fi"
  (cd "$AZB_ROOT" && autoreconf -fi)
}

azb_configure() { # DIR ARGS...
  local dir="$1"
  shift
  if [ -f "$AZB_ROOT/config.status" ]; then
    azb_warn "the source tree was configured in place; run 'make distclean' in $AZB_ROOT first"
    return 1
  fi
  mkdir -p "$AZB_ROOT/$dir" || return 1
  azb_log "configuring $dir/ (../configure $*)"
  (cd "$AZB_ROOT/$dir" && ../configure "$@") || return 1
  # Objects built with other flags (say, without -Werror) would otherwise
  # be reused as they are: start from clean when the arguments change.
  local stamp="$AZB_ROOT/$dir/.configure-args" args="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$args" ]; then
    azb_log "configure arguments changed: make clean in $dir/"
    make -s -C "$AZB_ROOT/$dir" clean || return 1
  fi
  printf '%s\n' "$args" >"$stamp"
}

# Configure DIR only if it never was (for the demo: keeps the flags of an
# earlier check.sh build).
azb_configure_once() { # DIR ARGS...
  if [ -f "$AZB_ROOT/$1/config.status" ] && [ -f "$AZB_ROOT/configure" ]; then
    return 0
  fi
  [ -f "$AZB_ROOT/configure" ] || azb_autoreconf || return 1
  azb_configure "$@"
}

azb_find_binary() { # DIR
  local f
  for f in "$AZB_ROOT/$1/azblobfs" "$AZB_ROOT/$1/src/azblobfs" "$AZB_ROOT/$1/src/fs/azblobfs"; do
    if [ -f "$f" ] && [ -x "$f" ]; then
      printf '%s\n' "$f"
      return 0
    fi
  done
  return 1
}

#!/usr/bin/env bash
# contrib/quickstart.sh -- see a server-side copy happen, on this machine,
# without an Azure account.
#
# It installs what is missing, builds azblobfs in build/, starts Azurite (the
# local Azure Storage emulator) on a free port, creates the container "demo",
# mounts it at /tmp/azblobfs-demo, writes a 64 MiB file into the mount and
# copies it there with plain cp: azblobfs turns that cp into one Copy Blob
# request, so the copy's bytes never pass through this machine.
#
# Usage: contrib/quickstart.sh [--no-install]   start (a running demo is stopped first)
#        contrib/quickstart.sh --stop           unmount, stop Azurite, remove temp files
#
# State of a running demo: ${XDG_RUNTIME_DIR:-/tmp}/azblobfs-demo.env
set -euo pipefail

AZB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AZB_PROG=quickstart
# shellcheck source=contrib/deps.sh
. "$AZB_ROOT/contrib/deps.sh"
cd "$AZB_ROOT"

MNT=/tmp/azblobfs-demo
CONTAINER=demo
STATE="${XDG_RUNTIME_DIR:-/tmp}/azblobfs-demo.env"
ACCOUNT=devstoreaccount1
# The public, documented key of the emulator account (not a secret).
ACCOUNT_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

usage() {
  sed -n '/^# Usage:/,/^#        contrib\/quickstart.sh --stop/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------- stop
unmount_demo() {
  if mountpoint -q "$MNT" 2>/dev/null || grep -qs " $MNT fuse" /proc/self/mounts; then
    azb_log "unmounting $MNT"
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null ||
      azb_as_root umount -l "$MNT" || azb_warn "could not unmount $MNT"
  fi
}

# Kill PID only if it still is the Azurite that the demo started.
stop_azurite() { # PID
  local pid="$1" _
  [ -n "$pid" ] || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q azurite; then
    azb_log "stopping Azurite (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

stop_demo() {
  local AZURITE_PID="" DEMO_DIR=""
  unmount_demo
  if [ -f "$STATE" ]; then
    # shellcheck disable=SC1090
    . "$STATE"
    stop_azurite "$AZURITE_PID"
    case "$DEMO_DIR" in
      */azblobfs-demo.*) rm -rf -- "$DEMO_DIR" ;;
    esac
    rm -f -- "$STATE"
  fi
  rmdir "$MNT" 2>/dev/null || true
}

# ---------------------------------------------------------------- start
free_port() {
  node -e 'const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

wait_for_azurite() { # PORT PID LOG
  local _
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/$ACCOUNT?comp=list"; then
      return 0
    fi
    if ! kill -0 "$2" 2>/dev/null; then
      azb_warn "Azurite exited; its output:"
      cat "$3" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  azb_warn "Azurite did not answer on port $1 within 30 s"
  return 1
}

wait_for_mount() {
  local _
  for _ in $(seq 1 100); do
    mountpoint -q "$MNT" && return 0
    sleep 0.1
  done
  return 1
}

cleanup_on_failure() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    azb_warn "the demo failed; stopping what it started"
    cd "$AZB_ROOT" || true
    stop_demo || true
  fi
  exit "$rc"
}

start_demo() {
  local do_install="$1" bin port demo_dir pid conn creds

  stop_demo

  if [ "$do_install" -eq 1 ]; then
    azb_install_packages
  fi
  azb_ensure_fuse
  azb_ensure_node_modules

  azb_configure_once build >/dev/null
  azb_log "make -j2 (in build/)"
  make -s -C build -j2 >/dev/null
  bin=$(azb_find_binary build) || {
    azb_warn "the build did not produce build/azblobfs"
    exit 1
  }

  # From here on a failure cleans up what was started.
  trap cleanup_on_failure EXIT

  port=$(free_port)
  demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/azblobfs-demo.XXXXXX")
  chmod 700 "$demo_dir"
  mkdir -p "$demo_dir/azurite"
  azb_log "starting Azurite on 127.0.0.1:$port (data in $demo_dir/azurite)"
  setsid "$AZB_ROOT/tests/node_modules/.bin/azurite-blob" \
    --blobHost 127.0.0.1 --blobPort "$port" --location "$demo_dir/azurite" \
    --silent --loose --skipApiVersionCheck --disableTelemetry \
    </dev/null >"$demo_dir/azurite.log" 2>&1 &
  pid=$!
  {
    echo "AZURITE_PID=$pid"
    echo "AZURITE_PORT=$port"
    echo "DEMO_DIR=$demo_dir"
    echo "MOUNTPOINT=$MNT"
  } >"$STATE"
  wait_for_azurite "$port" "$pid" "$demo_dir/azurite.log"

  conn="DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=http://127.0.0.1:$port/$ACCOUNT;"
  azb_log "creating the container '$CONTAINER'"
  AZB_CONN="$conn" node tests/js/sdk.js mkcontainer "$CONTAINER"

  creds="$demo_dir/credentials"
  (umask 077 && printf 'connection_string=%s\n' "$conn" >"$creds")
  chmod 600 "$creds"

  mkdir -p "$MNT"
  azb_log "mounting $CONTAINER at $MNT"
  echo "\$ $bin $CONTAINER $MNT -o credentials=$creds"
  "$bin" "$CONTAINER" "$MNT" -o "credentials=$creds"
  wait_for_mount || {
    azb_warn "$MNT is not mounted"
    exit 1
  }

  cd "$MNT"
  echo
  echo "\$ dd if=/dev/urandom of=big.bin bs=1M count=64"
  dd if=/dev/urandom of=big.bin bs=1M count=64 status=none
  echo "\$ time cp big.bin copy.bin      # one server-side Copy Blob"
  time cp big.bin copy.bin
  echo "\$ getfattr -n user.azblob.copy_status copy.bin"
  getfattr -n user.azblob.copy_status copy.bin
  echo "\$ getfattr -n user.azblob.copy_progress copy.bin"
  getfattr -n user.azblob.copy_progress copy.bin
  echo "\$ ls -l"
  ls -l
  echo "\$ sha256sum big.bin copy.bin"
  local sums
  sums=$(sha256sum big.bin copy.bin)
  echo "$sums"
  cd "$AZB_ROOT"
  if [ "$(awk '{print $1}' <<<"$sums" | sort -u | wc -l)" -ne 1 ]; then
    azb_warn "the copy differs from the original"
    exit 1
  fi

  trap - EXIT
  cat <<EOF

The copy matches.  Azurite finishes every copy inside the request, so
copy_status is already "success"; against Azure a large or cross-account
copy is "pending" for a while (see README, "Copying").

The demo is still mounted at $MNT; try cp, mv, ls, getfattr -d there.
Azurite's endpoint: http://127.0.0.1:$port/$ACCOUNT
Credentials file:   $creds

To unmount and stop everything:
    contrib/quickstart.sh --stop
(or by hand: fusermount3 -u $MNT; kill $pid; rm -rf $demo_dir)
EOF
}

# ---------------------------------------------------------------- main
do_install=1
action=start
for arg in "$@"; do
  case "$arg" in
    --stop) action=stop ;;
    --no-install) do_install=0 ;;
    -h | --help) usage; exit 0 ;;
    *) azb_warn "unknown argument: $arg"; usage >&2; exit 2 ;;
  esac
done

if [ "$action" = stop ]; then
  stop_demo
  azb_log "demo stopped"
else
  start_demo "$do_install"
fi

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
# Then the rest of the copy workflow, with output: a second mount at
# /tmp/azblobfs-demo-async (copy=async) reaches Azurite through the
# async-copy emulator (tests/js/copyemu.js), which copies at 16 MiB/s as
# the service does with a large copy: a copy seen pending with its
# progress growing (getfattr, the control directory, azblobfs status), a
# second one aborted with rm, and a snapshot restored with cp.
#
# AZBLOBFS_BIN=PATH uses that binary instead of building one.
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
MNT2=/tmp/azblobfs-demo-async
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
  local m
  for m in "$MNT2" "$MNT"; do
    if mountpoint -q "$m" 2>/dev/null || grep -qs " $m fuse" /proc/self/mounts; then
      azb_log "unmounting $m"
      fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null ||
        azb_as_root umount -l "$m" || azb_warn "could not unmount $m"
    fi
  done
}

# Kill PID only if it still is the emulator that the demo started.
stop_emulator() { # PID
  local pid="$1"
  [ -n "$pid" ] || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q copyemu; then
    azb_log "stopping the async-copy emulator (pid $pid)"
    kill "$pid" 2>/dev/null || true
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
  local AZURITE_PID="" EMU_PID="" DEMO_DIR=""
  unmount_demo
  if [ -f "$STATE" ]; then
    # shellcheck disable=SC1090
    . "$STATE"
    stop_emulator "$EMU_PID"
    stop_azurite "$AZURITE_PID"
    case "$DEMO_DIR" in
      */azblobfs-demo.*) rm -rf -- "$DEMO_DIR" ;;
    esac
    rm -f -- "$STATE"
  fi
  rmdir "$MNT" "$MNT2" 2>/dev/null || true
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

wait_for_mount() { # [MOUNTPOINT]
  local _
  for _ in $(seq 1 100); do
    mountpoint -q "${1:-$MNT}" && return 0
    sleep 0.1
  done
  return 1
}

# show CMD...: print the command as typed, then run it
show() {
  local a line='$'
  for a in "$@"; do
    case $a in
      '' | *[[:space:]]*) line+=" '$a'" ;;
      *) line+=" $a" ;;
    esac
  done
  echo "$line"
  "$@"
}

# The emulator's aborts, one line each: "Abort Copy Blob DEST copyid=ID".
emu_aborts() { # PORT
  curl -s "http://127.0.0.1:$1/__emu/log" | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const a of JSON.parse(s).aborts || [])
        console.log(`Abort Copy Blob ${a.dest} copyid=${a.id} (HTTP ${a.result})`);
    });'
}

# The copy workflow: a pending copy through the emulator, an abort, and a
# snapshot restored.
demo_workflow() { # BIN DEMO_DIR AZURITE_PORT
  local bin="$1" demo_dir="$2" port="$3" emu_port="" emu_pid conn2 creds2 snap _

  echo
  echo "== A copy that takes its time, as on Azure =="
  node tests/js/copyemu.js --listen 0 --upstream "http://127.0.0.1:$port" \
    --rate $((16 * 1024 * 1024)) </dev/null >"$demo_dir/copyemu.out" 2>"$demo_dir/copyemu.log" &
  emu_pid=$!
  echo "EMU_PID=$emu_pid" >>"$STATE"
  for _ in $(seq 1 100); do
    emu_port=$(sed -n 's/^listening //p' "$demo_dir/copyemu.out")
    [ -n "$emu_port" ] && break
    kill -0 "$emu_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$emu_port" ]; then
    azb_warn "the async-copy emulator did not start; its output:"
    cat "$demo_dir/copyemu.log" >&2 || true
    return 1
  fi
  conn2="DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=http://127.0.0.1:$emu_port/$ACCOUNT;"
  creds2="$demo_dir/credentials-async"
  (umask 077 && printf 'connection_string=%s\n' "$conn2" >"$creds2")
  echo "Azurite finishes a copy inside its request. The async-copy emulator"
  echo "(tests/js/copyemu.js, port $emu_port) stands between azblobfs and Azurite"
  echo "and copies at 16 MiB/s, so a copy stays pending for seconds, as a large"
  echo "one does on Azure. The same container, mounted through it with"
  echo "copy=async (cp returns once the server accepted the copy):"
  mkdir -p "$MNT2"
  show "$bin" "$CONTAINER" "$MNT2" -o "credentials=$creds2,copy=async"
  wait_for_mount "$MNT2" || {
    azb_warn "$MNT2 is not mounted"
    return 1
  }
  cd "$MNT2"
  show cp big.bin slow.bin
  for _ in 1 2 3; do
    show getfattr --absolute-names -n user.azblob.copy_status slow.bin
    show getfattr --absolute-names -n user.azblob.copy_progress slow.bin
    sleep 0.7
  done
  echo "# the same for tools that only know files:"
  show cat .azblobfs/copies
  show cat .azblobfs/status/slow.bin
  echo "# progress bars (plain lines when not on a terminal), until it ends:"
  show "$bin" status --watch "$MNT2"
  show getfattr --absolute-names -n user.azblob.copy_status slow.bin
  if [ "$(getfattr --only-values -n user.azblob.copy_status slow.bin)" != success ]; then
    azb_warn "the pending copy did not end in success"
    return 1
  fi
  show sha256sum big.bin slow.bin

  echo
  echo "== A copy aborted with rm =="
  show cp big.bin doomed.bin
  show getfattr --absolute-names -n user.azblob.copy_status doomed.bin
  show rm doomed.bin
  echo "# what the emulator received:"
  emu_aborts "$emu_port"
  if [ -z "$(emu_aborts "$emu_port")" ]; then
    azb_warn "no Abort Copy Blob reached the emulator"
    return 1
  fi
  show ls -l

  echo
  echo "== A snapshot, restored with cp =="
  cd "$MNT"
  echo "\$ echo 'first version' > notes.txt"
  echo 'first version' >notes.txt
  show setfattr -n user.azblob.snapshot -v '' notes.txt
  echo "\$ echo 'second version' > notes.txt"
  echo 'second version' >notes.txt
  show ls -l .azblobfs/snapshots/notes.txt/
  snap=$(ls .azblobfs/snapshots/notes.txt/ | head -n 1)
  echo "# one Copy Blob from the snapshot's URL over the file:"
  show cp ".azblobfs/snapshots/notes.txt/$snap" notes.txt
  show cat notes.txt
  if [ "$(cat notes.txt)" != "first version" ]; then
    azb_warn "the restore did not bring the first version back"
    return 1
  fi
  cd "$AZB_ROOT"
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

  if [ -n "${AZBLOBFS_BIN:-}" ]; then
    bin=$AZBLOBFS_BIN
  else
    azb_configure_once build >/dev/null
    azb_log "make -j2 (in build/)"
    make -s -C build -j2 >/dev/null
    bin=$(azb_find_binary build) || {
      azb_warn "the build did not produce build/azblobfs"
      exit 1
    }
  fi

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
  demo_workflow "$bin" "$demo_dir" "$port" || exit 1

  trap - EXIT
  cat <<EOF

Every copy above ran on the server: the cp, the pending copy, the restore.
The demo is still mounted at $MNT (straight to Azurite) and at
$MNT2 (through the emulator, copy=async); try cp, mv, ls,
getfattr -d and cat .azblobfs/copies there.
Azurite's endpoint: http://127.0.0.1:$port/$ACCOUNT
Credentials file:   $creds

To unmount and stop everything:
    contrib/quickstart.sh --stop
(or by hand: fusermount3 -u on both mounts, kill the emulator and
Azurite (pid $pid), rm -rf $demo_dir)
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

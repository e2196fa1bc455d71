#!/bin/bash
# run.sh - azblobfs benchmark: the same file operations on azblobfs, on
# rclone mount (--vfs-cache-mode off and writes) and with a plain client
# ("raw": curl and the Azure SDK for JavaScript), all against one local
# Azurite on 127.0.0.1.  Every client talks to Azurite through
# tests/js/copyemu.js --passthrough, which forwards everything unchanged and
# counts the requests and the request body bytes each operation cost.
#
# Two more groups: "fio" (bandwidth rows measured with fio in the mounts)
# and "distant" (everyday work on small files through a counting proxy that
# holds each request BENCH_DIST_LATENCIES milliseconds, azblobfs against
# rclone --vfs-cache-mode writes).
#
# Prints the markdown tables on stdout (progress goes to stderr) and writes
# them, with the machine and the versions, to tests/bench/RESULTS.md.
# See tests/bench/README for the scenarios and the environment variables.
# Run by "make bench" (bench-fio, bench-distant) in the build directory.
set -eu

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_ROOT=$(cd "$BENCH_DIR/../.." && pwd)
if [ -z "${AZBLOBFS_BIN:-}" ]; then
  if [ -x "$PWD/azblobfs" ]; then AZBLOBFS_BIN=$PWD/azblobfs
  else AZBLOBFS_BIN=$SRC_ROOT/build/azblobfs; fi
fi
export AZBLOBFS_BIN
. "$SRC_ROOT/tests/integration/lib.sh"

SIZE_MB=${BENCH_SIZE_MB:-512}
RUNS=${BENCH_RUNS:-3}
LIST_N=${BENCH_LIST_N:-10000}
SMALL_N=${BENCH_SMALL_N:-300}
SYSTEMS=${BENCH_SYSTEMS:-azblobfs rclone-off rclone-writes raw}
SCENARIOS=${BENCH_SCENARIOS:-cp mv read slowread write append small ls}
CONN_RATE_MB=${BENCH_CONN_RATE_MB:-64}
AZB_OPTS=${BENCH_AZB_OPTS:-}
DIRECT=${BENCH_DIRECT:-0}
TIMEOUT=${BENCH_TIMEOUT:-1800}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/RESULTS.md}
FIO_MB=${BENCH_FIO_MB:-256}
FIO_SECONDS=${BENCH_FIO_SECONDS:-10}
DIST_N=${BENCH_DIST_N:-200}
TREE_N=${BENCH_TREE_N:-2000}
DIST_LATENCIES=${BENCH_DIST_LATENCIES:-10 0}
DIST_CONC=${BENCH_DIST_CONC:-16}
SIZE=$((SIZE_MB * 1048576))
MIB=1048576
SMALL_BYTES=4096

for v in SIZE_MB RUNS LIST_N SMALL_N TIMEOUT CONN_RATE_MB FIO_MB FIO_SECONDS DIST_N TREE_N DIST_CONC; do
  case ${!v} in '' | *[!0-9]*) azb_die "BENCH_$v must be a positive integer" ;; esac
  [ "${!v}" -gt 0 ] || azb_die "BENCH_$v must be a positive integer"
done
[ $((FIO_MB % 4)) = 0 ] || azb_die "BENCH_FIO_MB must be a multiple of 4 (four jobs read a quarter each)"
[ $((TREE_N % 100)) = 0 ] || azb_die "BENCH_TREE_N must be a multiple of 100 (10 x 10 directories)"
for v in $DIST_LATENCIES; do
  case $v in '' | *[!0-9]*) azb_die "BENCH_DIST_LATENCIES: '$v' is not a number of milliseconds" ;; esac
done
[ -n "$DIST_LATENCIES" ] || azb_die "BENCH_DIST_LATENCIES is empty"
has_scen() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
command -v rclone >/dev/null || azb_die "rclone missing: apt-get install rclone"
! has_scen fio || command -v fio >/dev/null || azb_die "fio missing: apt-get install fio"
command -v curl >/dev/null || azb_die "curl missing: apt-get install curl"
command -v timeout >/dev/null || azb_die "timeout (coreutils) missing"

BENCH_T0=$EPOCHREALTIME
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# fresh_pages: seconds to fill FRESH_MB MiB of new tmpfs pages -- the cost
# of memory the kernel hands out anew, which every page cache fill pays
FRESH_MB=1024
fresh_pages() {
  local f=/dev/shm/azb-bench-fresh.$$ t
  [ -d /dev/shm ] || { echo "-"; return 0; }
  t=$EPOCHREALTIME
  if dd if=/dev/zero of="$f" bs=1M count=$FRESH_MB status=none 2>/dev/null; then
    awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
  else
    echo "-"
  fi
  rm -f "$f"
}
FRESH0=$(fresh_pages)
say() { echo "bench: [$(awk -v a="$BENCH_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%4.0f", b - a }') s] $*" >&2; }

# --- services -------------------------------------------------------------
azb_start_azurite
NODE_DIR=$(azb_node_dir)
W="$AZB_TMP/bench"
mkdir -p "$W"
RES="$W/results.tsv"   # SCENARIO TAB SYSTEM TAB KEY TAB VALUE
: >"$RES"
# a private copy: every mount of this run uses the same binary, even if
# the build directory is rebuilt meanwhile
cp -p "$AZBLOBFS_BIN" "$W/azblobfs"
AZB_EXE="$W/azblobfs"

conn_of() { echo "DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=$1;"; } # URL
rclone_remote() { # NAME URL : a remote in the rclone config
  cat >>"$RCLONE_CONF" <<EOF
[$1]
type = azureblob
account = $AZB_ACCOUNT
key = $AZB_KEY
use_emulator = true
endpoint = $2
EOF
}

# every client talks to Azurite through a counting proxy (BENCH_DIRECT=1:
# straight to Azurite, nothing counted)
if [ "$DIRECT" = 1 ]; then
  CLIENT_URL=$AZURITE_URL
  EMU_PORT=""
else
  azb_start_passthrough EMU_PORT proxy
  CLIENT_URL="http://127.0.0.1:$EMU_PORT/$AZB_ACCOUNT"
fi
export EMU_PORT
CLIENT_CONN=$(conn_of "$CLIENT_URL")
CRED=$(azb_credfile "$CLIENT_CONN")
CRED_DIRECT=$(azb_credfile "$AZB_CONN_AZURITE")
RCLONE_CONF="$W/rclone.conf"
: >"$RCLONE_CONF"
chmod 600 "$RCLONE_CONF"
rclone_remote az "$CLIENT_URL"

# slowread: a second counting proxy that paces every GET response to
# CONN_RATE_MB MiB/s, as one connection to a distant service is
SLOW_PORT=""
case " $SCENARIOS " in
*" slowread "*)
  azb_start_passthrough SLOW_PORT slow-proxy --conn-rate $((CONN_RATE_MB * MIB))
  SLOW_CONN=$(conn_of "http://127.0.0.1:$SLOW_PORT/$AZB_ACCOUNT")
  CRED_SLOW=$(azb_credfile "$SLOW_CONN")
  rclone_remote azslow "http://127.0.0.1:$SLOW_PORT/$AZB_ACCOUNT" ;;
esac

# distant: one counting proxy per latency, each holding every request that
# many milliseconds before forwarding it (tests/js/copyemu.js --latency)
declare -A DIST_PORT=() DIST_CRED=() DIST_CONN=()
if has_scen distant; then
  for lat in $DIST_LATENCIES; do
    azb_start_passthrough "DIST_PORT[$lat]" "proxy-${lat}ms" --latency "$lat"
    DIST_CONN[$lat]=$(conn_of "http://127.0.0.1:${DIST_PORT[$lat]}/$AZB_ACCOUNT")
    DIST_CRED[$lat]=$(azb_credfile "${DIST_CONN[$lat]}")
    rclone_remote "azd$lat" "http://127.0.0.1:${DIST_PORT[$lat]}/$AZB_ACCOUNT"
  done
fi

# bench.js straight to Azurite (fixtures, checks: not counted) or through
# the proxy (raw measurements: counted)
bjs() { AZB_CONN=$AZB_CONN_AZURITE NODE_PATH=$NODE_DIR "$AZB_NODE" "$BENCH_DIR/bench.js" "$@"; }
bjs_client() { AZB_CONN=$CLIENT_CONN NODE_PATH=$NODE_DIR "$AZB_NODE" "$BENCH_DIR/bench.js" "$@"; }
bjs_slow() { AZB_CONN=$SLOW_CONN NODE_PATH=$NODE_DIR "$AZB_NODE" "$BENCH_DIR/bench.js" "$@"; }

# --- mounts: one at a time, at $MNT; state in a file so that a failed
# scenario (run in a subshell) can be cleaned up by the main shell
MNT="$W/mnt"
CUR="$W/current-mount"
mkdir -p "$MNT"

container_of() { # SYSTEM
  case $1 in
  azblobfs) echo bench-azb ;;
  rclone-off) echo bench-rc-off ;;
  rclone-writes) echo bench-rc-writes ;;
  raw*) echo bench-raw ;;
  esac
}

bench_mount() { # SYSTEM CONTAINER [EXTRA-OPTIONS]
  local sys=$1 c=$2 extra=${3:-} pid i log="$W/$1.log"
  [ ! -e "$CUR" ] || bench_umount
  [ "$sys" != azblobfs-async ] || extra="upload=async${extra:+,$extra}"
  case $sys in
  azblobfs | azblobfs-async)
    "$AZB_EXE" "$c" "$MNT" -f -o "credentials=${MOUNT_CRED:-$CRED},cache_dir=$W/azb-cache,loglevel=warn,copy=sync${AZB_OPTS:+,$AZB_OPTS}${extra:+,$extra}" \
      >>"$log" 2>&1 &
    pid=$! ;;
  rclone-off | rclone-writes)
    rclone mount "${MOUNT_REMOTE:-az}:$c" "$MNT" --config "$RCLONE_CONF" --vfs-cache-mode "${sys#rclone-}" \
      --vfs-write-back 0s --cache-dir "$W/rclone-cache" --log-file "$log" --log-level ERROR &
    pid=$! ;;
  *) azb_die "bench_mount: unknown system $sys" ;;
  esac
  echo "$pid" >"$CUR"
  for ((i = 0; i < 300; i++)); do
    mountpoint -q "$MNT" && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; echo "bench: $sys exited before mounting" >&2; rm -f "$CUR"; return 1; }
    sleep 0.1
  done
  echo "bench: $sys: $MNT not mounted after 30 s" >&2
  return 1
}

bench_pid() { cat "$CUR"; }

bench_umount() { # unmounts and waits for the daemon to end
  local pid i
  [ -e "$CUR" ] || return 0
  pid=$(cat "$CUR")
  for ((i = 0; i < 20; i++)); do
    mountpoint -q "$MNT" || break
    fusermount3 -u "$MNT" 2>/dev/null && break
    sleep 0.5
  done
  mountpoint -q "$MNT" && fusermount3 -uz "$MNT" 2>/dev/null
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "bench: mount process $pid still running 60 s after unmount: killed" >&2
    kill "$pid" 2>/dev/null; sleep 1; kill -9 "$pid" 2>/dev/null
  fi
  rm -rf "$CUR" "$W/rclone-cache" "$W/azb-cache"
  return 0
}
azb_on_exit bench_umount

# --- recording ------------------------------------------------------------
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RES"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }'; } # seconds since the EPOCHREALTIME given

t_begin() { # starts the clock and the proxy's counters
  [ -z "$EMU_PORT" ] || azb_emu_reset
  T0=$EPOCHREALTIME
}

counts() { # SCEN SYS : store the proxy's counters since t_begin
  local s
  [ -n "$EMU_PORT" ] || return 0
  s=$(azb_emu_log | azb_json 'j.requests + "\t" + j.uploadBodyBytes + "\t" +
      Object.entries(j.ops).filter((e) => e[1] > 0).sort((a, b) => b[1] - a[1])
      .map((e) => e[0] + " " + e[1]).join(", ")')
  IFS=$'\t' read -r req up ops <<<"$s"
  rec "$1" "$2" req "$req"
  rec "$1" "$2" bytes "$up"
  rec "$1" "$2" ops "${ops:-none}"
}

t_end() { # SCEN SYS [SECONDS] : stop the clock (or take SECONDS), record
  local d=${3:-}
  [ -n "$d" ] || d=$(since "$T0")
  rec "$1" "$2" time "$d"
  counts "$1" "$2"
  say "  $1 $2: $d s"
}

raw_op() { # SCEN SYS TIMED-OP ARGS... : a bench.js timed operation through the proxy
  local scen=$1 sys=$2 out
  shift 2
  t_begin
  out=$(bjs_client timed "$@")
  t_end "$scen" "$sys" "$(echo "$out" | azb_json 'j.seconds.toFixed(4)')"
}

# CPU of the mount process (the azblobfs daemon, rclone): user + system
# time from /proc/PID/stat, which counts every thread, ended ones too
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # user+sys clock ticks of the mount process so far
  local s
  s=$(cat "/proc/$(bench_pid)/stat") || return 1
  s=${s##*) } # the fields after "PID (COMM) "; utime and stime are 12 and 13
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $s
  echo $((${12} + ${13}))
}

cpu_rec() { # SCEN SYS TICKS : record the mount process's CPU seconds since TICKS
  local now
  now=$(cpu_ticks) || return 0
  rec "$1" "$2" cpu "$(awk -v t=$((now - $3)) -v h="$CLK_TCK" 'BEGIN { printf "%.3f", t / h }')"
}

rss() { # SCEN SYS : peak resident set of the mount process so far (kB)
  local kb
  kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$(bench_pid)/status" 2>/dev/null || true)
  [ -z "$kb" ] || rec "$1" "$2" rss "$kb"
}

# Waiting for rclone's uploads polls Azurite directly (not counted) with
# curl and a container SAS: a poll costs milliseconds, not a node start-up.
# Single blobs are deleted the same way.
declare -A SAS=()
for c in bench-azb bench-rc-off bench-rc-writes bench-raw $(has_scen distant && echo dist-azb dist-azba dist-rc dist-raw); do
  SAS[$c]=$(bjs sas "$c")
done

server_size() { # CONTAINER NAME : content length on the server, -1 if none
  local u=${SAS[$1]} h
  h=$(curl -sS -I "${u%%\?*}/$2?${u#*\?}")
  case $h in
  "HTTP/1.1 200"*) echo "$h" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }' ;;
  "HTTP/1.1 404"*) echo -1 ;;
  *) echo "bench: HEAD $1/$2: $(echo "$h" | head -n 1)" >&2; return 1 ;;
  esac
}

# list_pages URL PREFIX DIR : every List Blobs page of PREFIX (5000 a
# page, each asked with the marker of the one before) of the container SAS
# URL into DIR/page.N; the marker is read from a page's end, where the
# service puts it (a regular expression over a 3 MB page costs more than
# the service takes to make it)
list_pages() {
  local marker="" i=0
  while :; do
    T curl -sS --fail -o "$3/page.$i" \
      "$1&restype=container&comp=list&prefix=$2&maxresults=5000${marker:+&marker=$marker}" || return 1
    marker=$(tail -c 4096 "$3/page.$i" | sed -n 's:.*<NextMarker>\([^<]*\)</NextMarker>.*:\1:p')
    i=$((i + 1))
    [ -n "$marker" ] || break
  done
}

list_count() { # DIR : blobs in the pages list_pages left there (removed)
  cat "$1"/page.* | grep -o '<Blob>' | wc -l
  rm -rf "$1"
}

server_count() { # CONTAINER PREFIX : number of blobs under PREFIX
  local d
  d=$(mktemp -d "$W/list.XXXXXX")
  list_pages "${SAS[$1]}" "$2" "$d" || { rm -rf "$d"; return 1; }
  list_count "$d"
}

server_delete() { # CONTAINER NAME
  local u=${SAS[$1]}
  curl -sS -o /dev/null -X DELETE "${u%%\?*}/$2?${u#*\?}"
}

check_size() { # CONTAINER NAME BYTES
  local s
  s=$(server_size "$1" "$2")
  [ "$s" = "$3" ] || { echo "bench: $1/$2 has $s bytes on the server, expected $3" >&2; return 1; }
}

wait_size() { # CONTAINER NAME BYTES
  local end=$((SECONDS + TIMEOUT))
  until [ "$(server_size "$1" "$2")" = "$3" ]; do
    [ "$SECONDS" -lt "$end" ] || { check_size "$1" "$2" "$3"; return 1; }
    sleep 0.05
  done
}

wait_count() { # CONTAINER PREFIX N
  local end=$((SECONDS + TIMEOUT)) n
  until n=$(server_count "$1" "$2") && [ "$n" -ge "$3" ]; do
    [ "$SECONDS" -lt "$end" ] || { echo "bench: $1/$2*: $n blobs, expected $3" >&2; return 1; }
    sleep 0.1
  done
}

wait_uploaded() { # SYS CONTAINER NAME BYTES : rclone writes mode uploads after close
  [ "$1" != rclone-writes ] || wait_size "$2" "$3" "$4"
}

T() { timeout "$TIMEOUT" "$@"; }

# --- scenarios: case_NAME SYSTEM RUN, run in a subshell under set -e ------
case_cp() {
  local sys=$1 c
  c=$(container_of "$sys")
  if [ "$sys" = raw ]; then
    raw_op cp raw copy "$c" cp.bin big.bin
  else
    bench_mount "$sys" "$c"
    t_begin
    T cp "$MNT/big.bin" "$MNT/cp.bin"
    wait_uploaded "$sys" "$c" cp.bin "$SIZE"
    t_end cp "$sys"
    bench_umount
  fi
  check_size "$c" cp.bin "$SIZE"
  server_delete "$c" cp.bin
}

case_mv() {
  local sys=$1 c
  c=$(container_of "$sys")
  bjs cpfrom "$c" mv-src.bin "$c" big.bin
  if [ "$sys" = raw ]; then
    raw_op mv raw move "$c" mv-dst.bin mv-src.bin
  else
    bench_mount "$sys" "$c"
    t_begin
    T mv "$MNT/mv-src.bin" "$MNT/mv-dst.bin"
    wait_uploaded "$sys" "$c" mv-dst.bin "$SIZE"
    t_end mv "$sys"
    bench_umount
  fi
  check_size "$c" mv-dst.bin "$SIZE"
  check_size "$c" mv-src.bin -1
  server_delete "$c" mv-dst.bin
}

curl4() { # URL : the whole blob as 4 ranged GETs at once
  local part=$(((SIZE + 3) / 4)) i
  for i in 0 1 2 3; do
    T curl -sS --fail -o /dev/null -r "$((i * part))-$(((i + 1) * part - 1))" "$1" &
  done
  for i in 0 1 2 3; do wait -n; done
}

raw_reads() { # SCEN URL : one GET, then four ranged GETs at once, each timed
  t_begin
  T curl -sS --fail -o /dev/null "$2"
  t_end "$1" raw-curl
  t_begin
  curl4 "$2"
  t_end "$1" raw-curl4
}

cat_read() { # SCEN KEY : cat of big.bin in the mount, timed
  t_begin
  T cat "$MNT/big.bin" >/dev/null
  t_end "$1" "$2"
}

case_read() {
  local sys=$1 c url cpu0
  c=$(container_of "$sys")
  case $sys in
  raw)
    raw_reads read "$(bjs_client sas "$c" big.bin)"
    raw_op read raw-sdk download "$c" big.bin 8 8
    # the same GETs without the counting proxy in between
    url=$(bjs sas "$c" big.bin)
    T0=$EPOCHREALTIME
    T curl -sS --fail -o /dev/null "$url"
    rec read raw-direct time "$(since "$T0")"
    T0=$EPOCHREALTIME
    curl4 "$url"
    rec read raw-direct4 time "$(since "$T0")"
    ;;
  *)
    bench_mount "$sys" "$c"
    cpu0=$(cpu_ticks)
    cat_read read "$sys"
    cpu_rec read "$sys" "$cpu0"
    rss read "$sys"
    bench_umount
    if [ "$sys" = azblobfs ]; then
      # the same read past the page cache: what filling it costs
      bench_mount "$sys" "$c" direct_io
      cat_read read azblobfs-dio
      bench_umount
      # and straight from Azurite, as the raw-direct GETs
      MOUNT_CRED=$CRED_DIRECT bench_mount "$sys" "$c"
      T0=$EPOCHREALTIME
      T cat "$MNT/big.bin" >/dev/null
      rec read azblobfs-direct time "$(since "$T0")"
      bench_umount
    fi ;;
  esac
}

case_slowread() { # the read, every GET answered at CONN_RATE_MB MiB/s
  local sys=$1 c
  c=$(container_of "$sys")
  EMU_PORT=$SLOW_PORT # count at the pacing proxy (this runs in a subshell)
  case $sys in
  raw) raw_reads slowread "$(bjs_slow sas "$c" big.bin)" ;;
  *)
    MOUNT_CRED=$CRED_SLOW MOUNT_REMOTE=azslow bench_mount "$sys" "$c"
    cat_read slowread "$sys"
    bench_umount ;;
  esac
}

case_write() {
  local sys=$1 c cpu0
  c=$(container_of "$sys")
  if [ "$sys" = raw ]; then
    raw_op write raw upload "$c" w.bin "$W/zero.bin" 8 8
  else
    bench_mount "$sys" "$c"
    cpu0=$(cpu_ticks)
    t_begin
    T dd if=/dev/zero of="$MNT/w.bin" bs=1M count="$SIZE_MB" conv=fsync status=none
    wait_uploaded "$sys" "$c" w.bin "$SIZE"
    t_end write "$sys"
    cpu_rec write "$sys" "$cpu0"
    rss write "$sys"
    bench_umount
  fi
  check_size "$c" w.bin "$SIZE"
  server_delete "$c" w.bin
}

case_ls() {
  local sys=$1 n d u
  if [ "$sys" = raw ]; then
    raw_op ls raw list bench-list many/
    # the pages alone: what the server takes, with no client parsing them
    d=$(mktemp -d "$W/list.XXXXXX")
    u=$(bjs_client sas bench-list)
    t_begin
    list_pages "$u" many/ "$d" || { rm -rf "$d"; return 1; }
    t_end ls raw-curl
    n=$(list_count "$d")
    [ "$n" = "$LIST_N" ] || { echo "bench: curl listed $n blobs, expected $LIST_N" >&2; return 1; }
  else
    bench_mount "$sys" bench-list
    t_begin
    n=$(T ls -l "$MNT/many" | grep -c '^-')
    t_end ls "$sys"
    bench_umount
    [ "$n" = "$LIST_N" ] || { echo "bench: ls -l showed $n files, expected $LIST_N" >&2; return 1; }
  fi
}

case_small() {
  local sys=$1 c i data n name
  c=$(container_of "$sys")
  if [ "$sys" = raw ]; then
    raw_op small-w raw putsmall "$c" small/f "$SMALL_N" "$SMALL_BYTES"
    raw_op small-r raw getsmall "$c" small/f "$SMALL_N"
  else
    data=$(head -c "$SMALL_BYTES" /dev/zero | tr '\0' x)
    bench_mount "$sys" "$c"
    mkdir -p "$MNT/small"
    t_begin
    # the name without a subshell: a fork per file would cost more than
    # some file systems take for the file
    for ((i = 0; i < SMALL_N; i++)); do
      printf -v name 'f%06d' "$i"
      printf '%s' "$data" >"$MNT/small/$name"
    done
    [ "$sys" != rclone-writes ] || wait_count "$c" small/f "$SMALL_N"
    t_end small-w "$sys"
    bench_umount
    bench_mount "$sys" "$c"
    t_begin
    n=$(T cat "$MNT"/small/f* | wc -c)
    t_end small-r "$sys"
    bench_umount
    [ "$n" = $((SMALL_N * SMALL_BYTES)) ] || { echo "bench: read back $n bytes, expected $((SMALL_N * SMALL_BYTES))" >&2; return 1; }
  fi
  n=$(server_count "$c" small/f)
  [ "$n" = "$SMALL_N" ] || { echo "bench: $n small files on the server, expected $SMALL_N" >&2; return 1; }
  bjs rmprefix "$c" small/
}

case_append() {
  local sys=$1 c before
  c=$(container_of "$sys")
  before=$(server_size "$c" app.bin)
  if [ "$sys" = raw ]; then
    raw_op append raw append "$c" app.bin "$W/1mib"
  else
    bench_mount "$sys" "$c"
    t_begin
    if ! T sh -c 'cat "$1" >>"$2"' sh "$W/1mib" "$MNT/app.bin" 2>"$W/append.err"; then
      rec append "$sys" fail "$(tail -n 1 "$W/append.err" | sed 's/^.*: //')"
      say "  append $sys: fails: $(tail -n 1 "$W/append.err")"
      bench_umount
      check_size "$c" app.bin "$before"
      return 0
    fi
    wait_uploaded "$sys" "$c" app.bin $((before + MIB))
    t_end append "$sys"
    bench_umount
  fi
  check_size "$c" app.bin $((before + MIB))
}

# --- fio: bandwidth rows measured by fio in the mount ---------------------
# fio_run SCEN SYS ARGS... : starts the clock and one fio run (psync, JSON
# into $W/fio-SCEN-SYS.json, its complaints into $W/fio.err) in the mount
fio_run() {
  local scen=$1 sys=$2
  shift 2
  t_begin
  T fio --output-format=json --output="$W/fio-$scen-$sys.json" --ioengine=psync "$@" >/dev/null 2>"$W/fio.err"
}

fio_rec() { # SCEN SYS read|write BYTES : fio's bandwidth and IOPS; BYTES moved (0: any)
  local s bw iops io
  s=$(sed -n '/^{/,$p' "$W/fio-$1-$2.json" | azb_json "(() => { const g = j.jobs[0], d = g['$3'];
      if (g.error) throw new Error('fio: error ' + g.error);
      return d.bw_bytes + ' ' + d.iops.toFixed(1) + ' ' + d.io_bytes; })()")
  read -r bw iops io <<<"$s"
  [ "$4" = 0 ] || [ "$io" = "$4" ] || { echo "bench: fio $1 on $2 moved $io bytes, expected $4" >&2; return 1; }
  rec "$1" "$2" bw "$bw"
  rec "$1" "$2" iops "$iops"
}

# the jobs: fio_JOB SYSTEM CONTAINER, each in a subshell under set -e
fio_seqread() {
  bench_mount "$1" "$2"
  fio_run fio-seqread "$1" --name=seqread --rw=read --bs=1M --size="${FIO_MB}M" --filename="$MNT/fio-seq.bin"
  t_end fio-seqread "$1"
  bench_umount
  fio_rec fio-seqread "$1" read $((FIO_MB * MIB))
}

fio_seqwrite() {
  bench_mount "$1" "$2"
  fio_run fio-seqwrite "$1" --name=seqwrite --rw=write --bs=1M --size="${FIO_MB}M" --end_fsync=1 \
    --filename="$MNT/fio-w.bin"
  wait_uploaded "$1" "$2" fio-w.bin $((FIO_MB * MIB))
  t_end fio-seqwrite "$1"
  bench_umount
  fio_rec fio-seqwrite "$1" write $((FIO_MB * MIB))
  check_size "$2" fio-w.bin $((FIO_MB * MIB))
}

fio_randread() {
  bench_mount "$1" "$2"
  fio_run fio-randread "$1" --name=randread --rw=randread --bs=4k --size="${FIO_MB}M" \
    --filename="$MNT/fio-seq.bin" --time_based --runtime="$FIO_SECONDS"
  t_end fio-randread "$1"
  bench_umount
  fio_rec fio-randread "$1" read 0
}

fio_par4() {
  bench_mount "$1" "$2"
  # shellcheck disable=SC2016 # $jobnum is fio's
  fio_run fio-par4 "$1" --name=par4 --rw=read --bs=1M --numjobs=4 --group_reporting \
    --size="$((FIO_MB / 4))M" --directory="$MNT" --filename_format='fio4.$jobnum.bin'
  t_end fio-par4 "$1"
  bench_umount
  fio_rec fio-par4 "$1" read $((FIO_MB * MIB))
}

fio_err() { # EXIT-STATUS : what fio said went wrong, in short
  local e=""
  if [ -s "$W/fio.err" ]; then
    e=$(sed -n 's/.*error on file [^:]*: \([^:]*\).*/\1/p' "$W/fio.err" | head -n 1)
    [ -n "$e" ] || e=$(grep -v '^ *$' "$W/fio.err" | tail -n 1 | tr '|' '/')
  fi
  echo "${e:-exit $1}"
}

case_fio() { # every job on its own: one that fails leaves the others
  local sys=$1 c job rc
  c=$(container_of "$sys")
  for job in seqread seqwrite randread par4; do
    set +e
    (set -e; "fio_$job" "$sys" "$c")
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || {
      rec "fio-$job" "$sys" fail "$(fio_err "$rc")"
      say "  fio-$job $sys FAILED: $(fio_err "$rc")"
      bench_umount
    }
    rm -f "$W/fio.err"
  done
  server_delete "$c" fio-w.bin
}

# --- distant: small-file work through a proxy that holds every request ----
# Each system works on data the OTHER system wrote (rclone's writes mode
# serves its own writes from its cache): azblobfs (and azblobfs -o
# upload=async) on what rclone wrote, rclone on what azblobfs wrote. Every
# system writes into its own container (create: small/, tar x: tree/);
# then the other's small/ and tree/ are copied on the server (Copy Blob,
# metadata and directory blobs kept) to other/ in its container, where it
# reads, copies, moves and removes them. Fixture copies, polls and checks
# go straight to Azurite: not counted, not delayed.
# The raw column is the service's own floor for each row: bench.js sends
# the requests the work needs (Put Blob, List, Get Blob, Copy Blob, Delete
# Blob) through the same proxy, DIST_CONC at a time, no file system between.
DIST_ROWS="create stat ls cat find tarx tarc cpr mv rmr"
ASYNC=0
DIST_SYSTEMS="azblobfs rclone-writes raw"
if "$AZB_EXE" --help 2>&1 | grep -q 'upload='; then
  ASYNC=1
  DIST_SYSTEMS="azblobfs azblobfs-async rclone-writes raw"
fi

dist_container() { # SYSTEM
  case $1 in
  azblobfs) echo dist-azb ;;
  azblobfs-async) echo dist-azba ;;
  rclone-writes) echo dist-rc ;;
  raw) echo dist-raw ;;
  esac
}
dist_other() { case $1 in rclone-writes) echo azblobfs ;; *) echo rclone-writes ;; esac; } # who wrote what SYSTEM reads (raw: as azblobfs)
dist_files() { case $1 in find | tarx | tarc) echo "$TREE_N" ;; *) echo "$DIST_N" ;; esac; } # ROW

dist_mount() { # SYSTEM LATENCY : a fresh mount of the system's container through that proxy
  MOUNT_CRED=${DIST_CRED[$2]} MOUNT_REMOTE=azd$2 bench_mount "$1" "$(dist_container "$1")"
}

server_files() { # CONTAINER PREFIX : number of blobs with data under PREFIX
  # (not the empty blobs that mark directories: azblobfs's mkdir writes one)
  local d
  d=$(mktemp -d "$W/list.XXXXXX")
  list_pages "${SAS[$1]}" "$2" "$d" || { rm -rf "$d"; return 1; }
  cat "$d"/page.* | grep -o '<Content-Length>[0-9]*<' | grep -c -v '>0<' || true
  rm -rf "$d"
}

count_is() { # CONTAINER PREFIX N : the server holds exactly N files under PREFIX
  local n
  n=$(server_files "$1" "$2")
  [ "$n" = "$3" ] || { echo "bench: $1/$2: $n files on the server, expected $3" >&2; return 1; }
}

wait_count_is() { # CONTAINER PREFIX N : polls until exactly N files are under PREFIX
  local end=$((SECONDS + TIMEOUT))
  until count_is "$1" "$2" "$3" 2>/dev/null; do
    [ "$SECONDS" -lt "$end" ] || { count_is "$1" "$2" "$3"; return 1; }
    sleep 0.05
  done
}

# dist_wait SYSTEM CONTAINER PREFIX N : rclone and upload=async go on
# after the command returned: poll until the server holds N blobs under
# PREFIX. (azblobfs's default mode is done when the command returns; every
# row checks the server after the clock stopped.)
dist_wait() {
  [ "$1" = azblobfs ] || wait_count_is "$2" "$3" "$4"
}

# rows: d_ROW SYSTEM LATENCY, in a subshell under set -e; the key of a
# row's records is dLATENCY-ROW
d_create() {
  local c
  c=$(dist_container "$1")
  dist_mount "$1" "$2"
  t_begin
  T cp -r "$W/dsrc/small" "$MNT/small"
  dist_wait "$1" "$c" small/ "$DIST_N"
  t_end "d$2-create" "$1"
  bench_umount
  count_is "$c" small/ "$DIST_N"
}

d_tarx() {
  local c
  c=$(dist_container "$1")
  dist_mount "$1" "$2"
  t_begin
  T tar -xf "$W/tree.tar" --no-same-owner -C "$MNT"
  dist_wait "$1" "$c" tree/ "$TREE_N"
  t_end "d$2-tarx" "$1"
  bench_umount
  count_is "$c" tree/ "$TREE_N"
}

d_fixture() { # SYSTEM : other/ in its container, copied from what the other system wrote
  local c o
  c=$(dist_container "$1")
  o=$(dist_container "$(dist_other "$1")")
  bjs cpdir "$o" small "$c" other/ >/dev/null
  bjs cpdir "$o" tree "$c" other/ >/dev/null
  count_is "$c" other/small/ "$DIST_N"
  count_is "$c" other/tree/ "$TREE_N"
}

d_stat() {
  local names=() i n
  for ((i = 0; i < DIST_N; i++)); do
    printf -v n '%s/other/small/f%06d' "$MNT" "$i"
    names+=("$n")
  done
  dist_mount "$1" "$2"
  t_begin
  n=$(T stat -c %s -- "${names[@]}" | grep -c -x "$SMALL_BYTES")
  t_end "d$2-stat" "$1"
  bench_umount
  [ "$n" = "$DIST_N" ] || { echo "bench: stat showed $n files of $SMALL_BYTES bytes, expected $DIST_N" >&2; return 1; }
}

d_ls() {
  local n
  dist_mount "$1" "$2"
  t_begin
  n=$(T ls -l "$MNT/other/small" | grep -c '^-')
  t_end "d$2-ls" "$1"
  bench_umount
  [ "$n" = "$DIST_N" ] || { echo "bench: ls -l showed $n files, expected $DIST_N" >&2; return 1; }
}

d_cat() {
  local n
  dist_mount "$1" "$2"
  t_begin
  n=$(T cat "$MNT"/other/small/* | wc -c)
  t_end "d$2-cat" "$1"
  bench_umount
  [ "$n" = $((DIST_N * SMALL_BYTES)) ] || { echo "bench: cat read $n bytes, expected $((DIST_N * SMALL_BYTES))" >&2; return 1; }
}

d_find() {
  local n
  dist_mount "$1" "$2"
  t_begin
  n=$(T find "$MNT/other/tree" -type f | wc -l)
  t_end "d$2-find" "$1"
  bench_umount
  [ "$n" = "$TREE_N" ] || { echo "bench: find listed $n files, expected $TREE_N" >&2; return 1; }
}

d_tarc() {
  local s rc=0
  dist_mount "$1" "$2"
  t_begin
  T tar -cf "$W/out.tar" -C "$MNT/other" tree 2>"$W/tar.err" || rc=$?
  # GNU tar exits 1 when a file or directory changed while it was read:
  # the archive is whole, the mount showed changing attributes; the time
  # counts, and the cell says so
  [ "$rc" = 0 ] || { [ "$rc" = 1 ] && grep -q 'changed as we read it' "$W/tar.err"; } ||
    { cat "$W/tar.err" >&2; return 1; }
  t_end "d$2-tarc" "$1"
  bench_umount
  [ "$rc" = 0 ] || rec "d$2-tarc" "$1" fail "tar: $(grep -c 'changed as we read it' "$W/tar.err") 'file changed as we read it'"
  s=$(tar -tvf "$W/out.tar" | awk '/^-/ { n++; b += $3 } END { print n + 0, b + 0 }')
  rm -f "$W/out.tar"
  [ "$s" = "$TREE_N $((TREE_N * SMALL_BYTES))" ] ||
    { echo "bench: tar c archived [$s] files and bytes, expected [$TREE_N $((TREE_N * SMALL_BYTES))]" >&2; return 1; }
}

d_cpr() {
  local c
  c=$(dist_container "$1")
  dist_mount "$1" "$2"
  t_begin
  T cp -r "$MNT/other/small" "$MNT/other/small-cp"
  dist_wait "$1" "$c" other/small-cp/ "$DIST_N"
  t_end "d$2-cpr" "$1"
  bench_umount
  count_is "$c" other/small-cp/ "$DIST_N"
}

d_mv() {
  local c
  c=$(dist_container "$1")
  dist_mount "$1" "$2"
  t_begin
  T mv "$MNT/other/small" "$MNT/other/small-mv"
  dist_wait "$1" "$c" other/small-mv/ "$DIST_N"
  dist_wait "$1" "$c" other/small/ 0
  t_end "d$2-mv" "$1"
  bench_umount
  count_is "$c" other/small-mv/ "$DIST_N"
  count_is "$c" other/small/ 0
}

d_rmr() {
  local c
  c=$(dist_container "$1")
  dist_mount "$1" "$2"
  t_begin
  T rm -r "$MNT/other/small-mv"
  dist_wait "$1" "$c" other/small-mv/ 0
  t_end "d$2-rmr" "$1"
  bench_umount
  count_is "$c" other/small-mv/ 0
}

# the raw rows: r_ROW raw LATENCY, the same work from bench.js through the proxy
bjs_dist() { # LATENCY ARGS... : bench.js through that latency's proxy
  local lat=$1
  shift
  AZB_CONN=${DIST_CONN[$lat]} NODE_PATH=$NODE_DIR "$AZB_NODE" "$BENCH_DIR/bench.js" "$@"
}
r_timed() { # ROW LATENCY TIMED-OP ARGS... : record its seconds as raw's
  local row=$1 lat=$2 out
  shift 2
  t_begin
  out=$(bjs_dist "$lat" timed "$@")
  t_end "d$lat-$row" "${SYS_AS:-raw}" "$(echo "$out" | azb_json 'j.seconds.toFixed(4)')"
}
# the contract's floor (system "floor", in dist-raw under floor/): the
# rows whose commands make files, as a client that keeps "any create
# makes its blob before it returns" and works one file after the other,
# as cp, tar and rm do, must send them (bench.js eagerdir, eagercp)
f_timed() { SYS_AS=floor r_timed "$@"; }
r_create() {
  r_timed create "$2" putdir dist-raw small/ "$W/dsrc/small" "$DIST_CONC"
  count_is dist-raw small/ "$DIST_N"
  f_timed create "$2" eagerdir dist-raw floor/small/ "$W/dsrc/small" "$DIST_CONC"
  count_is dist-raw floor/small/ "$DIST_N"
}
r_tarx() {
  r_timed tarx "$2" putdir dist-raw tree/ "$W/dsrc/tree" "$DIST_CONC"
  count_is dist-raw tree/ "$TREE_N"
  f_timed tarx "$2" eagerdir dist-raw floor/tree/ "$W/dsrc/tree" "$DIST_CONC" tar
  count_is dist-raw floor/tree/ "$TREE_N"
}
r_stat() { r_timed stat "$2" list dist-raw other/small/; }
r_ls() { r_timed ls "$2" list dist-raw other/small/; }
r_cat() { r_timed cat "$2" getall dist-raw other/small/ "$DIST_CONC"; }
r_find() { r_timed find "$2" list dist-raw other/tree/; }
r_tarc() { r_timed tarc "$2" getall dist-raw other/tree/ "$DIST_CONC"; }
r_cpr() {
  r_timed cpr "$2" copyall dist-raw other/small/ other/small-cp/ "$DIST_CONC"
  count_is dist-raw other/small-cp/ "$DIST_N"
  f_timed cpr "$2" eagercp dist-raw other/small/ floor/small-cp/
  count_is dist-raw floor/small-cp/ "$DIST_N"
}
r_mv() {
  r_timed mv "$2" moveall dist-raw other/small/ other/small-mv/ "$DIST_CONC"
  count_is dist-raw other/small-mv/ "$DIST_N"
  count_is dist-raw other/small/ 0
}
r_rmr() {
  r_timed rmr "$2" rmall dist-raw other/small-mv/ "$DIST_CONC"
  count_is dist-raw other/small-mv/ 0
  f_timed rmr "$2" rmall dist-raw floor/small-cp/ 1
  count_is dist-raw floor/small-cp/ 0
}

dist_step() { # ROW|fixture SYSTEM LATENCY RUN : one row, counted at that latency's proxy
  local rc fn=d_$1
  [ "$2" != raw ] || [ "$1" = fixture ] || fn=r_$1
  say "distant ${3} ms, run $4/$RUNS: $1, $2"
  set +e
  (set -e; EMU_PORT=${DIST_PORT[$3]}; "$fn" "$2" "$3")
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || return 0
  say "  distant $3 ms $1 $2 run $4 FAILED (exit $rc)"
  [ "$1" = fixture ] || rec "d$3-$1" "$2" fail "run $4 failed (exit $rc)"
  bench_umount
}

distant_group() {
  local run lat sys row order
  for ((run = 1; run <= RUNS; run++)); do
    order=$(rotate $((run - 1)) $DIST_SYSTEMS)
    for lat in $DIST_LATENCIES; do
      for sys in $DIST_SYSTEMS; do bjs rmprefix "$(dist_container "$sys")" ""; done
      for row in create tarx; do
        for sys in $order; do dist_step "$row" "$sys" "$lat" "$run"; done
      done
      for sys in $DIST_SYSTEMS; do dist_step fixture "$sys" "$lat" "$run"; done
      for row in stat ls cat find tarc cpr mv rmr; do
        for sys in $order; do dist_step "$row" "$sys" "$lat" "$run"; done
      done
    done
  done
  for sys in $DIST_SYSTEMS; do bjs rmprefix "$(dist_container "$sys")" ""; done
}

# --- fixtures ---------------------------------------------------------------
for scen in $SCENARIOS; do
  [ "$scen" = distant ] || declare -F "case_$scen" >/dev/null ||
    azb_die "unknown scenario $scen (known: cp mv read slowread write append small ls fio distant)"
done
say "azblobfs: $AZBLOBFS_BIN"
say "SIZE=${SIZE_MB} MiB RUNS=$RUNS LIST_N=$LIST_N SMALL_N=$SMALL_N; systems: $SYSTEMS; scenarios: $SCENARIOS"
has_scen fio && say "fio: FIO_MB=$FIO_MB FIO_SECONDS=$FIO_SECONDS"
has_scen distant && say "distant: DIST_N=$DIST_N TREE_N=$TREE_N latencies (ms): $DIST_LATENCIES; systems: $DIST_SYSTEMS"
for c in bench-src bench-azb bench-rc-off bench-rc-writes bench-raw bench-list; do
  azb_sdk mkcontainer "$c"
done
NEED_BIG=0
for scen in $SCENARIOS; do
  case $scen in cp | mv | read | slowread | write | append) NEED_BIG=1 ;; esac
done
if [ "$NEED_BIG" = 1 ]; then
  say "fixtures: a ${SIZE_MB} MiB random blob"
  head -c "$SIZE" /dev/urandom >"$W/big.bin"
  head -c "$MIB" /dev/urandom >"$W/1mib"
  truncate -s "$SIZE" "$W/zero.bin"
  bjs mkfixture bench-src big.bin "$W/big.bin"
  for c in bench-azb bench-rc-off bench-rc-writes bench-raw; do
    bjs cpfrom "$c" big.bin bench-src big.bin
    # Azurite's Copy Blob leaves no block list: the blob to append to is
    # uploaded in 8 MiB blocks, as a client would have written it (rclone's
    # off mode cannot append at all: a copy will do)
    if has_scen append; then
      if [ "$c" = bench-rc-off ]; then bjs cpfrom "$c" app.bin bench-src big.bin
      else bjs mkfixture "$c" app.bin "$W/big.bin"; fi
    fi
  done
  rm -f "$W/big.bin"
fi
if has_scen fio; then
  # fio reads files that are there already (it lays out nothing): one of
  # FIO_MB MiB, and four of a quarter of it for the four jobs
  say "fixtures: fio files of ${FIO_MB} MiB and 4 x $((FIO_MB / 4)) MiB"
  head -c $((FIO_MB * MIB)) /dev/urandom >"$W/fio.bin"
  bjs mkfixture bench-src fio-seq.bin "$W/fio.bin"
  head -c $((FIO_MB * MIB / 4)) "$W/fio.bin" >"$W/fio4.bin"
  bjs mkfixture bench-src fio4.bin "$W/fio4.bin"
  rm -f "$W/fio.bin" "$W/fio4.bin"
  for sys in $SYSTEMS; do
    [ "$sys" != raw ] || continue
    c=$(container_of "$sys")
    bjs cpfrom "$c" fio-seq.bin bench-src fio-seq.bin
    for i in 0 1 2 3; do bjs cpfrom "$c" "fio4.$i.bin" bench-src fio4.bin; done
  done
fi
if has_scen distant; then
  # DIST_N files of 4 KiB, and a tree of 10 x 10 directories holding
  # TREE_N files of 4 KiB in all (tree/dNN/dNN/fNNNN) as a tar archive
  say "fixtures: $DIST_N small files, a tree of $TREE_N files"
  for c in dist-azb dist-azba dist-rc dist-raw; do azb_sdk mkcontainer "$c"; done
  mkdir -p "$W/dsrc/small"
  head -c $((DIST_N * SMALL_BYTES)) /dev/urandom | split -b "$SMALL_BYTES" -d -a 6 - "$W/dsrc/small/f"
  for ((i = 0; i < 10; i++)); do
    for ((j = 0; j < 10; j++)); do
      d=$(printf '%s/dsrc/tree/d%02d/d%02d' "$W" "$i" "$j")
      mkdir -p "$d"
      head -c $((TREE_N * SMALL_BYTES / 100)) /dev/urandom | split -b "$SMALL_BYTES" -d -a 4 - "$d/f"
    done
  done
  tar -cf "$W/tree.tar" -C "$W/dsrc" tree # dsrc/tree stays: raw's tar x
fi
say "fixtures ready"

# --- the runs ----------------------------------------------------------------
rotate() { # N WORDS... : WORDS turned left by N
  local n=$1
  shift
  n=$((n % $#))
  echo "${@:n+1}" "${@:1:n}"
}
for scen in $SCENARIOS; do
  if [ "$scen" = distant ]; then
    distant_group
    continue
  fi
  declare -F "case_$scen" >/dev/null || azb_die "unknown scenario $scen"
  if [ "$scen" = ls ]; then
    # last by default: Azurite's requests get slower as it holds more blobs
    say "fixture: $LIST_N blobs for ls"
    bjs putmany bench-list many/f "$LIST_N" 16 32
  fi
  for ((run = 1; run <= RUNS; run++)); do
    # the order turns by one each run: no system is always the first
    # after a fixture or right after the same neighbour (the machine's
    # state -- page cache, Azurite's own work -- carries over between runs)
    for sys in $(rotate $((run - 1)) $SYSTEMS); do
      [ "$scen" != fio ] || [ "$sys" != raw ] || continue
      say "$scen, run $run/$RUNS, $sys"
      set +e
      (set -e; "case_$scen" "$sys" "$run")
      rc=$?
      set -e
      if [ "$rc" -ne 0 ]; then
        say "  $scen $sys run $run FAILED (exit $rc)"
        rec "$scen" "$sys" fail "run $run failed (exit $rc)"
        [ "$scen" != small ] || rec small-r "$sys" fail "run $run failed (exit $rc)"
        [ "$scen" != small ] || rec small-w "$sys" fail "run $run failed (exit $rc)"
        bench_umount
        bjs rmprefix "$(container_of "$sys")" small/ >/dev/null 2>&1 || true
      fi
    done
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
FRESH1=$(fresh_pages)
BENCH_SECS=$(awk -v a="$BENCH_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# --- the table -------------------------------------------------------------
# values of KEY for SCEN/SYS, one per line
vals() { awk -F'\t' -v s="$1" -v y="$2" -v k="$3" '$1 == s && $2 == y && $3 == k { print $4 }' "$RES"; }
med() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.4f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; } # of the numbers on stdin
median() { vals "$1" "$2" "${3:-time}" | med; } # SCEN SYS [KEY]
last() { vals "$1" "$2" "$3" | tail -n 1; }
fmt_s() { [ -n "$1" ] || { echo "-"; return; }; awk -v t="$1" 'BEGIN { if (t < 0.1) printf "%.3f s", t; else if (t < 10) printf "%.2f s", t; else printf "%.1f s", t }'; }
fmt_bytes() {
  awk -v b="$1" 'BEGIN { if (b == "") print "-"; else if (b < 1024) printf "%d B", b; else if (b < 1048576) printf "%.1f KiB", b / 1024;
    else printf "%.1f MiB", b / 1048576 }'
}
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }' || echo "-"; }

# what one unit of work is, per scenario, for the rate shown next to the time
per() {
  case $1 in
  cp | mv | read | slowread | write) echo "$SIZE_MB MiB/s" ;;
  small-w | small-r) echo "$SMALL_N files/s" ;;
  ls) echo "$LIST_N entries/s" ;;
  *) echo "" ;;
  esac
}

cell() { # SCEN SYS : "median s (rate)" or the failure, with the CPU per GiB if measured
  local m f p unit n c
  m=$(median "$1" "$2")
  f=$(last "$1" "$2" fail)
  if [ -z "$m" ]; then
    if [ -n "$f" ]; then echo "fails ($f)"; else echo "-"; fi
    return
  fi
  p=$(per "$1")
  if [ -n "$p" ]; then
    n=${p%% *}; unit=${p#* }
    printf '%s, %s %s' "$(fmt_s "$m")" "$(awk -v n="$n" -v t="$m" 'BEGIN { r = n / t; printf (r < 100 ? "%.1f" : "%.0f"), r }')" "$unit"
  else
    fmt_s "$m"
  fi
  c=$(median "$1" "$2" cpu)
  [ -z "$c" ] || printf ', CPU %s s/GiB' "$(awk -v c="$c" -v mb="$SIZE_MB" 'BEGIN { printf "%.2f", c * 1024 / mb }')"
  [ -z "$f" ] || printf ' (%s)' "$f"
  echo
}

best_raw() { # SCEN : name of the fastest raw variant (through the proxy)
  local k best="" bm="" m
  for k in raw raw-curl raw-curl4 raw-sdk; do
    m=$(median "$1" "$k")
    [ -n "$m" ] || continue
    if [ -z "$bm" ] || awk -v a="$m" -v b="$bm" 'BEGIN { exit !(a < b) }'; then best=$k; bm=$m; fi
  done
  echo "$best"
}

reqs() { # SCEN SYS
  local r
  r=$(last "$1" "$2" req)
  [ -n "$r" ] || { echo "-"; return; }
  echo "$r ($(last "$1" "$2" ops))"
}

title() {
  case $1 in
  cp) echo "cp ${SIZE_MB} MiB file in the mount, until copied on the server" ;;
  mv) echo "mv ${SIZE_MB} MiB file in the mount" ;;
  read) echo "cold sequential read of ${SIZE_MB} MiB (cat, fresh mount)" ;;
  slowread) echo "the same read, each connection at most $CONN_RATE_MB MiB/s (a distant service)" ;;
  write) echo "sequential write of ${SIZE_MB} MiB (dd bs=1M conv=fsync), until committed" ;;
  ls) echo "ls -l of a directory of $LIST_N blobs (fresh mount)" ;;
  small-w) echo "write $SMALL_N files of 4 KiB, until on the server" ;;
  small-r) echo "read back $SMALL_N files of 4 KiB (fresh mount)" ;;
  append) echo "append 1 MiB to a ${SIZE_MB} MiB file (cat >>), until committed" ;;
  esac
}

raw_note() {
  case $1 in
  cp) echo "raw: SDK Copy Blob (Azurite copies inside the request)" ;;
  mv) echo "raw: SDK Copy Blob + Delete Blob" ;;
  write) echo "raw: SDK uploadFile, 8 MiB blocks, 8 in parallel" ;;
  ls) echo "raw: SDK List Blobs, 5000 per page, $(fmt_s "$(median ls raw)"); curl, the same pages, $(fmt_s "$(median ls raw-curl)")" ;;
  small-w) echo "raw: SDK Put Blob, one after the other" ;;
  small-r) echo "raw: SDK Get Blob, one after the other" ;;
  append) echo "raw: SDK Get Block List + Put Block + Put Block List" ;;
  slowread)
    echo "every GET answer paced to $CONN_RATE_MB MiB/s by tests/js/copyemu.js --conn-rate; raw: curl 1 GET $(fmt_s "$(median slowread raw-curl)"), curl 4 ranged GETs $(fmt_s "$(median slowread raw-curl4)")" ;;
  read)
    local s=""
    s="raw: curl 1 GET $(fmt_s "$(median read raw-curl)")"
    s="$s, curl 4 ranged GETs $(fmt_s "$(median read raw-curl4)")"
    s="$s, SDK 8 MiB x 8 ranged $(fmt_s "$(median read raw-sdk)")"
    s="$s; without the proxy: curl 1 GET $(fmt_s "$(median read raw-direct)")"
    [ -z "$(median read raw-direct4)" ] ||
      s="$s, curl 4 ranged GETs $(fmt_s "$(median read raw-direct4)")"
    [ -z "$(median read azblobfs-direct)" ] ||
      s="$s, azblobfs $(fmt_s "$(median read azblobfs-direct)")"
    [ -z "$(median read azblobfs-dio)" ] ||
      s="$s; azblobfs -o direct_io (no page cache) $(fmt_s "$(median read azblobfs-dio)")"
    echo "$s" ;;
  esac
}

rclone_note() { # SCEN
  local s="" sys r
  for sys in rclone-off rclone-writes; do
    r=$(last "$1" "$sys" req)
    [ -n "$r" ] || continue
    s="$s${s:+; }${sys#rclone-}: $(reqs "$1" "$sys"), $(fmt_bytes "$(last "$1" "$sys" bytes)") sent"
  done
  [ -z "$s" ] || echo "rclone $s"
}

ROWS=""
for scen in $SCENARIOS; do
  case $scen in
  small) ROWS="$ROWS small-w small-r" ;;
  fio | distant) ;;
  *) ROWS="$ROWS $scen" ;;
  esac
done

table() {
  local scen a ro rw rb rk best note
  echo "| scenario | azblobfs | rclone (off) | rclone (writes) | raw | azblobfs/rclone(best) | azblobfs/raw | requests (azblobfs) | client bytes sent (azblobfs) | notes |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for scen in $ROWS; do
    a=$(median "$scen" azblobfs)
    ro=$(median "$scen" rclone-off)
    rw=$(median "$scen" rclone-writes)
    best=$(printf '%s\n' $ro $rw | sort -g | head -n 1)
    rk=$(best_raw "$scen")
    rb=""
    [ -z "$rk" ] || rb=$(median "$scen" "$rk")
    note="$(raw_note "$scen")"
    [ -z "$rk" ] || { [ "$scen" != read ] && [ "$scen" != slowread ] && [ "$scen" != ls ]; } || note="$note (raw column: $rk)"
    [ -z "$(rclone_note "$scen")" ] || note="$note; $(rclone_note "$scen")"
    [ -z "$(last "$scen" raw req)" ] || note="$note; raw: $(reqs "$scen" raw), $(fmt_bytes "$(last "$scen" raw bytes)") sent"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(title "$scen")" \
      "$(cell "$scen" azblobfs)" "$(cell "$scen" rclone-off)" "$(cell "$scen" rclone-writes)" \
      "$([ -n "$rk" ] && cell "$scen" "$rk" || echo -)" \
      "$(ratio "$a" "$best")" "$(ratio "$a" "$rb")" "$(reqs "$scen" azblobfs)" \
      "$(fmt_bytes "$(last "$scen" azblobfs bytes)")" "$note"
  done
  echo
  echo "Times are medians of $RUNS runs; ratios are time ratios (below 1: azblobfs is faster)."
  echo "Requests and bytes are those of the last run, counted by the proxy; MiB = 1048576 bytes."
  if [ -n "$(vals read azblobfs cpu)$(vals write azblobfs cpu)" ]; then
    echo "CPU s/GiB: user + system CPU seconds of the mount process (the azblobfs daemon, rclone) during the"
    echo "operation, from /proc/PID/stat, per GiB read or written (median of the runs): the client's own cost,"
    echo "whatever the server's speed."
  fi
  echo
  for scen in read write; do
    for sys in azblobfs rclone-off rclone-writes; do
      local kb
      kb=$(vals "$scen" "$sys" rss | sort -n | tail -n 1)
      [ -z "$kb" ] || echo "- peak RSS of $sys during the $scen of ${SIZE_MB} MiB: $((kb / 1024)) MiB (VmHWM, $kb kB)"
    done
  done
}

runs_detail() { # the raw numbers behind the medians
  local scen sys v
  for scen in $ROWS; do
    for sys in azblobfs azblobfs-dio azblobfs-direct rclone-off rclone-writes raw raw-curl raw-curl4 raw-sdk raw-direct raw-direct4; do
      v=$(vals "$scen" "$sys" time | awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $1 }')
      [ -z "$v" ] || echo "- $scen, $sys: $v"
    done
  done
}

# --- the fio table ---------------------------------------------------------
FIO_ROWS="fio-seqread fio-seqwrite fio-randread fio-par4"

fio_title() {
  case $1 in
  fio-seqread) echo "fio sequential read of $FIO_MB MiB, 1 MiB reads (fresh mount)" ;;
  fio-seqwrite) echo "fio sequential write of $FIO_MB MiB, 1 MiB writes, end_fsync=1, until committed" ;;
  fio-randread) echo "fio 4 KiB random reads over a $FIO_MB MiB file for $FIO_SECONDS s (fresh mount)" ;;
  fio-par4) echo "fio 4 jobs at once, each reading its own file of $((FIO_MB / 4)) MiB, 1 MiB reads (fresh mount)" ;;
  esac
}

fmt_rate() { awk -v r="$1" 'BEGIN { r /= 1048576; printf (r < 100 ? "%.1f MiB/s" : "%.0f MiB/s"), r }'; } # bytes/s

fio_rate() { # SCEN SYS : bytes/s compared: fio's bandwidth; for the
  # write, the size over the time until committed (rclone's writes mode
  # uploads after close, when fio is done)
  local m
  if [ "$1" = fio-seqwrite ]; then
    m=$(median "$1" "$2")
    [ -z "$m" ] || awk -v b=$((FIO_MB * MIB)) -v t="$m" 'BEGIN { printf "%.0f", b / t }'
  else
    median "$1" "$2" bw
  fi
}

fio_cell() { # SCEN SYS
  local bw f
  f=$(last "$1" "$2" fail)
  bw=$(median "$1" "$2" bw)
  if [ -z "$bw" ]; then
    if [ -n "$f" ]; then echo "fails ($f)"; else echo "-"; fi
    return
  fi
  case $1 in
  fio-randread) printf '%.0f IOPS, %s' "$(median "$1" "$2" iops)" "$(fmt_rate "$bw")" ;;
  fio-seqwrite) printf '%s in fio; %s until committed (%s)' "$(fmt_rate "$bw")" "$(fmt_rate "$(fio_rate "$1" "$2")")" \
    "$(fmt_s "$(median "$1" "$2")")" ;;
  *) fmt_rate "$bw" ;;
  esac
  [ -z "$f" ] || printf ' (%s)' "$f"
  echo
}

fio_table() {
  local scen a ro rw best
  echo "| fio job | azblobfs | rclone (off) | rclone (writes) | azblobfs/rclone(best), bandwidth | requests (azblobfs) | notes |"
  echo "|---|---|---|---|---|---|---|"
  for scen in $FIO_ROWS; do
    a=$(fio_rate "$scen" azblobfs)
    ro=$(fio_rate "$scen" rclone-off)
    rw=$(fio_rate "$scen" rclone-writes)
    best=$(printf '%s\n' $ro $rw | sort -g | tail -n 1)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(fio_title "$scen")" "$(fio_cell "$scen" azblobfs)" \
      "$(fio_cell "$scen" rclone-off)" "$(fio_cell "$scen" rclone-writes)" "$(ratio "$a" "$best")" \
      "$(reqs "$scen" azblobfs)" "$(rclone_note "$scen")"
  done
  echo
  echo "Bandwidth and IOPS as fio reports them (--output-format=json: bw_bytes and iops of the job, the four"
  echo "jobs summed with group_reporting), medians of $RUNS runs; psync, page cache on, a fresh mount for each"
  echo "job. The write's ratio uses its size over the time until committed (fio's start to the blob's final"
  echo "size on the server). The ratio divides bandwidths: above 1 means azblobfs is faster."
}

fio_runs() {
  local scen sys v
  for scen in $FIO_ROWS; do
    for sys in azblobfs rclone-off rclone-writes; do
      v=$(vals "$scen" "$sys" bw | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1048576 }')
      [ -z "$v" ] || echo "- $scen, $sys: $v MiB/s$(
        case $scen in
        fio-seqwrite) vals "$scen" "$sys" time | awk 'BEGIN { printf "; until committed" } { printf "%s %.3f", (NR > 1 ? "," : ""), $1 } END { printf " s" }' ;;
        fio-randread) vals "$scen" "$sys" iops | awk 'BEGIN { printf ";" } { printf "%s %.0f", (NR > 1 ? "," : ""), $1 } END { printf " IOPS" }' ;;
        esac)"
    done
  done
}

# --- the distant tables ------------------------------------------------------
dist_title() {
  case $1 in
  create) echo "cp -r of $DIST_N files of 4 KiB into a new directory, until on the server" ;;
  stat) echo "stat of the $DIST_N names in one command (fresh mount)" ;;
  ls) echo "ls -l of that directory (fresh mount)" ;;
  cat) echo "cat dir/* of the $DIST_N files (fresh mount)" ;;
  find) echo "find -type f over a 3-level tree of $TREE_N files (fresh mount)" ;;
  tarx) echo "tar x of that tree into the mount, until on the server" ;;
  tarc) echo "tar c of that tree out of the mount (fresh mount)" ;;
  cpr) echo "cp -r of the directory of $DIST_N files inside the mount, until on the server" ;;
  mv) echo "mv of that directory inside the mount, until moved on the server" ;;
  rmr) echo "rm -r of that directory, until gone from the server" ;;
  esac
}

per_file() { # KEY SYS FILES : requests of the last run per file
  local r
  r=$(last "$1" "$2" req)
  [ -n "$r" ] || { echo "-"; return; }
  awk -v r="$r" -v n="$3" 'BEGIN { printf "%.2f", r / n }'
}

dist_table() { # LATENCY
  local row k n
  echo "| operation | azblobfs | azblobfs -o upload=async | rclone (writes) | raw (SDK, $DIST_CONC at once) | rclone/azblobfs | rclone/azblobfs (async) | requests per file: azblobfs / async / rclone / raw |"
  echo "|---|---|---|---|---|---|---|---|"
  for row in $DIST_ROWS; do
    k="d$1-$row"
    n=$(dist_files "$row")
    if [ "$ASYNC" = 1 ]; then
      printf '| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s / %s |\n' "$(dist_title "$row")" "$(cell "$k" azblobfs)" \
        "$(cell "$k" azblobfs-async)" "$(cell "$k" rclone-writes)" "$(cell "$k" raw)" \
        "$(ratio "$(median "$k" rclone-writes)" "$(median "$k" azblobfs)")" \
        "$(ratio "$(median "$k" rclone-writes)" "$(median "$k" azblobfs-async)")" \
        "$(per_file "$k" azblobfs "$n")" "$(per_file "$k" azblobfs-async "$n")" \
        "$(per_file "$k" rclone-writes "$n")" "$(per_file "$k" raw "$n")"
    else
      printf '| %s | %s | n/a | %s | %s | %s | n/a | %s / n/a / %s / %s |\n' "$(dist_title "$row")" "$(cell "$k" azblobfs)" \
        "$(cell "$k" rclone-writes)" "$(cell "$k" raw)" \
        "$(ratio "$(median "$k" rclone-writes)" "$(median "$k" azblobfs)")" \
        "$(per_file "$k" azblobfs "$n")" "$(per_file "$k" rclone-writes "$n")" "$(per_file "$k" raw "$n")"
    fi
  done
}

floor_table() { # LATENCY : the rows the contract's creates bound
  local row k f a
  echo "| operation | floor: one file after the other, creates before they return | azblobfs | azblobfs -o upload=async | rclone (writes) | rclone/floor: the best ratio the contract allows |"
  echo "|---|---|---|---|---|---|"
  for row in create tarx cpr rmr; do
    k="d$1-$row"
    f=$(median "$k" floor)
    [ -n "$f" ] || continue
    a="n/a"
    [ "$ASYNC" != 1 ] || a=$(cell "$k" azblobfs-async)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$(dist_title "$row")" "$(cell "$k" floor)" \
      "$(cell "$k" azblobfs)" "$a" "$(cell "$k" rclone-writes)" \
      "$(ratio "$(median "$k" rclone-writes)" "$f")"
  done
}

dist_requests() { # what each operation asked of the server, last run
  local lat row sys r
  for lat in $DIST_LATENCIES; do
    for row in $DIST_ROWS; do
      for sys in $DIST_SYSTEMS floor; do
        r=$(last "d$lat-$row" "$sys" req)
        [ -z "$r" ] || echo "- $lat ms, $row, $sys: $r ($(last "d$lat-$row" "$sys" ops))"
      done
    done
  done
}

dist_runs() {
  local lat row sys v
  for lat in $DIST_LATENCIES; do
    for row in $DIST_ROWS; do
      for sys in $DIST_SYSTEMS floor; do
        v=$(vals "d$lat-$row" "$sys" time | awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $1 }')
        [ -z "$v" ] || echo "- $lat ms, $row, $sys: $v"
      done
    done
  done
}

TABLE=""
if [ -n "$ROWS" ]; then
  TABLE=$(table)
  echo "$TABLE"
fi
if has_scen fio; then
  FIO_TABLE=$(fio_table)
  echo
  echo "$FIO_TABLE"
fi
if has_scen distant; then
  for lat in $DIST_LATENCIES; do
    echo
    echo "distant, $lat ms per request:"
    echo
    dist_table "$lat"
    echo
    floor_table "$lat"
  done
fi

CMD="BENCH_RUNS=$RUNS"
[ -z "$ROWS" ] || CMD="BENCH_SIZE_MB=$SIZE_MB $CMD BENCH_LIST_N=$LIST_N BENCH_SMALL_N=$SMALL_N"
[ "$SYSTEMS" = "azblobfs rclone-off rclone-writes raw" ] || CMD="$CMD BENCH_SYSTEMS='$SYSTEMS'"
[ "$SCENARIOS" = "cp mv read slowread write append small ls" ] || CMD="$CMD BENCH_SCENARIOS='$SCENARIOS'"
[ "$CONN_RATE_MB" = 64 ] || CMD="$CMD BENCH_CONN_RATE_MB=$CONN_RATE_MB"
! has_scen fio || CMD="$CMD BENCH_FIO_MB=$FIO_MB BENCH_FIO_SECONDS=$FIO_SECONDS"
! has_scen distant || CMD="$CMD BENCH_DIST_N=$DIST_N BENCH_TREE_N=$TREE_N BENCH_DIST_LATENCIES='$DIST_LATENCIES'"
[ "$DIST_CONC" = 16 ] || ! has_scen distant || CMD="$CMD BENCH_DIST_CONC=$DIST_CONC"
[ -z "$AZB_OPTS" ] || CMD="$CMD BENCH_AZB_OPTS='$AZB_OPTS'"
[ "$DIRECT" != 1 ] || CMD="$CMD BENCH_DIRECT=1"
CMD="$CMD bash tests/bench/run.sh"

azb_line() { echo "azblobfs: $("$AZB_EXE" --version 2>&1 | head -n 1) (built $(date -u -r "$AZB_EXE" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$AZB_EXE" | cut -c1-12)${AZB_OPTS:+, -o $AZB_OPTS})"; }
run_facts() { # the lines a section of new groups opens with
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- command (from the source tree): \`$CMD\` (took ${BENCH_SECS} s in all)"
  echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r); load average at the start: $LOAD0; at the end: $LOAD1"
  echo "- $(azb_line)"
  echo "- Azurite $(NODE_PATH=$NODE_DIR "$AZB_NODE" -p 'require("azurite/package.json").version'), node $("$AZB_NODE" --version); $(rclone version 2>/dev/null | head -n 1), mounted with --vfs-write-back 0s"
}

fio_block() {
  echo "## fio: bandwidth in the mounts"
  echo
  echo "Written by tests/bench/run.sh (BENCH_SCENARIOS with fio, make bench-fio); see tests/bench/README."
  echo
  run_facts
  echo "- $(fio --version), through the counting proxy (tests/js/copyemu.js --passthrough)"
  echo
  echo "$FIO_TABLE"
  echo
  echo "Every run:"
  echo
  fio_runs
}

dist_block() {
  local lat
  echo "## A distant service: small files, every request held ${DIST_LATENCIES%% *} ms"
  echo
  echo "Written by tests/bench/run.sh (BENCH_SCENARIOS with distant, make bench-distant); see tests/bench/README."
  echo
  run_facts
  if [ "$ASYNC" = 1 ]; then
    echo "- azblobfs -o upload=async: supported by this binary"
  else
    echo "- azblobfs -o upload=async: not in this binary (its --help has no upload=), so n/a"
  fi
  echo "- each client through a counting proxy that holds every request the given milliseconds before"
  echo "  forwarding it (tests/js/copyemu.js --passthrough --latency MS); each system works on files the"
  echo "  other one wrote (azblobfs on rclone's, rclone on azblobfs's), copied on the server"
  echo "- raw: the service's floor for the same work, the requests it needs sent by"
  echo "  tests/bench/bench.js (@azure/storage-blob) through the same proxy, $DIST_CONC at a time: Put Blob"
  echo "  per file (create, tar x), one List Blobs (stat, ls, find), Get Blob per file (cat, tar c), Copy"
  echo "  Blob per file (cp -r), Copy and Delete Blob per file (mv), Delete Blob per file (rm -r)"
  echo "- floor: the same rows as a client keeping INTERFACE.md's \"any create makes the blob on the"
  echo "  server before it returns\" must send them when, like cp, tar and rm, it makes or removes one"
  echo "  file after the other: each directory blob and each empty create waits for its answer, the"
  echo "  bytes go up behind them $DIST_CONC at a time (create, tar x; tar then sets each directory's mtime"
  echo "  and mode: two Set Blob Metadata), an empty create then its Copy Blob"
  echo "  per file (cp -r), one Delete Blob after the other (rm -r); bench.js eagerdir and eagercp"
  echo
  echo "Times are medians of $RUNS runs. The ratio divides rclone's time by azblobfs's: above 1 means"
  echo "azblobfs is faster. Requests per file: the requests of the last run, counted by the proxy, divided"
  echo "by the files the operation touched ($DIST_N, or $TREE_N for the tree)."
  for lat in $DIST_LATENCIES; do
    echo
    echo "### $lat ms per request"
    echo
    dist_table "$lat"
    echo
    echo "The rows that make files, against the contract's floor:"
    echo
    floor_table "$lat"
  done
  echo
  echo "### Requests of the last run"
  echo
  dist_requests
  echo
  echo "### Every run, seconds"
  echo
  dist_runs
}

# results_block NAME : the section NAME (its text on stdin) replaces the
# one between its marker lines in RESULTS, or is added at the end
results_block() {
  local b="<!-- bench:$1 begin -->" e="<!-- bench:$1 end -->" f="$W/block.$1" new="$W/results.new"
  cat >"$f"
  if [ -f "$RESULTS" ] && grep -qxF "$b" "$RESULTS" && grep -qxF "$e" "$RESULTS"; then
    awk -v b="$b" -v e="$e" -v f="$f" '
      $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$RESULTS" >"$new"
  else
    {
      [ ! -s "$RESULTS" ] || { cat "$RESULTS"; echo; }
      echo "$b"
      cat "$f"
      echo "$e"
    } >"$new"
  fi
  cat "$new" >"$RESULTS"
}

if [ "$RESULTS" != - ]; then
  # the main table rewrites the file; the fio and distant sections then
  # replace their own part of it (or are added), leaving the rest as it is
  if [ -n "$ROWS" ]; then
    {
      echo "# azblobfs benchmark results"
      echo
      echo "Written by tests/bench/run.sh (make bench); see tests/bench/README."
      echo
      echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
      echo "- command (from the source tree): \`$CMD\` (took ${BENCH_SECS} s)"
      echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
      echo "- load average (1, 5, 15 min) at the start: $LOAD0; at the end: $LOAD1 (load at the start is other work on the machine, competing for the CPUs)"
      echo "- fresh memory: writing ${FRESH_MB} MiB into a new file on /dev/shm (pages the kernel hands out anew, as for any page cache it fills) took $FRESH0 s at the start and $FRESH1 s at the end (on a machine whose freed memory goes back to its host, a new page costs a fault there too)"
      echo "- memory (free -g):"
      echo
      free -g | sed 's/^/      /'
      echo
      echo "- $(azb_line)"
      echo "- Azurite $(NODE_PATH=$NODE_DIR "$AZB_NODE" -p 'require("azurite/package.json").version'), node $("$AZB_NODE" --version), on 127.0.0.1, data on disk"
      echo "- $(rclone version 2>/dev/null | head -n 1), mounted with --vfs-write-back 0s"
      echo "- $(curl --version | head -n 1 | cut -d' ' -f1-2), @azure/storage-blob $(NODE_PATH=$NODE_DIR "$AZB_NODE" -p 'require("@azure/storage-blob/package.json").version')"
      if [ "$DIRECT" = 1 ]; then
        echo "- clients talk to Azurite directly (BENCH_DIRECT=1): no request counts"
      else
        echo "- every client talks to Azurite through tests/js/copyemu.js --passthrough (counts requests and request body bytes)"
      fi
      echo
      echo "$TABLE"
      echo
      echo "## Every run, seconds"
      echo
      runs_detail
    } >"$RESULTS"
  fi
  ! has_scen fio || fio_block | results_block fio
  ! has_scen distant || dist_block | results_block distant
  say "results written to $RESULTS"
fi
say "done in ${BENCH_SECS} s"

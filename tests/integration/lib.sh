# lib.sh -- mounting azblobfs and asserting outcomes in integration tests.
#
# Source after services.sh from a script running under "set -eu". Each
# check prints "ok N - what" or "not ok N - what"; azb_done prints the
# closing "N passed, M failed" line and exits 1 if anything failed.
# AZBLOBFS_BIN names the binary under test (make check sets it).

. "$(dirname "${BASH_SOURCE[0]}")/services.sh"

AZBLOBFS_BIN=${AZBLOBFS_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/azblobfs}
[ -x "$AZBLOBFS_BIN" ] || azb_die "azblobfs binary not found at $AZBLOBFS_BIN"
command -v getfattr >/dev/null || azb_die "getfattr missing: apt-get install attr"
command -v fusermount3 >/dev/null || azb_die "fusermount3 missing: apt-get install fuse3"
[ -w /dev/fuse ] || azb_die "/dev/fuse is not usable"

AZB_PASS=0
AZB_FAIL=0
AZB_N=0

ok() { # DESCRIPTION CMD... : passes when CMD succeeds
  local d=$1
  shift
  AZB_N=$((AZB_N + 1))
  if "$@"; then
    AZB_PASS=$((AZB_PASS + 1))
    echo "ok $AZB_N - $d"
  else
    AZB_FAIL=$((AZB_FAIL + 1))
    echo "not ok $AZB_N - $d"
  fi
}

eq() { # DESCRIPTION EXPECTED ACTUAL
  AZB_N=$((AZB_N + 1))
  if [ "$2" = "$3" ]; then
    AZB_PASS=$((AZB_PASS + 1))
    echo "ok $AZB_N - $1"
  else
    AZB_FAIL=$((AZB_FAIL + 1))
    echo "not ok $AZB_N - $1: expected [$2], got [$3]"
  fi
}

fails_with() { # ERRNO-TEXT CMD... : CMD fails and says ERRNO-TEXT
  local want=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "  (succeeded, expected: $want)" >&2
    return 1
  fi
  case "$out" in
  *"$want"*) return 0 ;;
  *) echo "  (got: $out)" >&2; return 1 ;;
  esac
}

AZB_MOUNTS=() # "MNT PID LOG" of the mounts made by azb_mount, still mounted
AZB_LOGS=()   # the log of every daemon started

# azb_done: unmounts every mount, checks that each daemon exited and left no
# sanitizer report (AddressSanitizer, LeakSanitizer, UBSan) in its log,
# then prints the closing line and fails if any check failed.
azb_done() {
  local m mnt pid log
  for m in "${AZB_MOUNTS[@]}"; do
    read -r mnt pid log <<<"$m"
    azb_umount "$mnt" "$pid"
    ok "daemon of $(basename "$mnt") exited after unmount" bash -c "! kill -0 $pid 2>/dev/null"
  done
  for log in "${AZB_LOGS[@]}"; do
    if grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
      grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -60 >&2
      ok "no sanitizer report in $(basename "$log")" false
    else
      ok "no sanitizer report in $(basename "$log")" true
    fi
  done
  echo "$AZB_PASS passed, $AZB_FAIL failed"
  [ "$AZB_FAIL" -eq 0 ]
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# azb_credfile CONN : a 0600 credentials file holding connection string CONN
azb_credfile() {
  local f
  f=$(mktemp "${AZB_TMP:-/tmp}/cred.XXXXXX")
  printf 'connection_string=%s\n' "$1" >"$f"
  chmod 600 "$f"
  echo "$f"
}

# azb_mount SOURCE MNT [CONN] [EXTRA -o OPTIONS]: mounts in the foreground
# in the background, waits for it, unmounts at exit.
azb_mount() {
  local src=$1 mnt=$2 conn=${3:-$AZB_CONN} extra=${4:-} cred i pid log
  mkdir -p "$mnt"
  cred=$(azb_credfile "$conn")
  log="$AZB_TMP/mount-$(basename "$mnt").log"
  "$AZBLOBFS_BIN" "$src" "$mnt" -f -o "credentials=$cred,cache_dir=$AZB_TMP/cache-$(basename "$mnt"),loglevel=${AZB_LOGLEVEL:-info}${extra:+,$extra}" \
    >>"$log" 2>&1 &
  pid=$!
  for ((i = 0; i < 100; i++)); do
    if mountpoint -q "$mnt"; then
      break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      azb_die "azblobfs exited before mounting $mnt"
    fi
    sleep 0.1
  done
  mountpoint -q "$mnt" || azb_die "$mnt not mounted after 10 s"
  # AZB_KEEP_LOGS=DIR keeps the daemon's log (after its exit) for a look
  if [ -n "${AZB_KEEP_LOGS:-}" ]; then
    mkdir -p "$AZB_KEEP_LOGS"
    azb_on_exit "cp '$log' '$AZB_KEEP_LOGS/$(basename "$0" .sh)-$(basename "$log")'"
  fi
  azb_on_exit "azb_umount '$mnt' $pid"
  AZB_MOUNTS+=("$mnt $pid $log")
  case " ${AZB_LOGS[*]} " in *" $log "*) ;; *) AZB_LOGS+=("$log") ;; esac
  AZB_MOUNT_PID=$pid
}

# azb_umount MNT PID : unmounts and waits for the daemon to exit
azb_umount() {
  local mnt=$1 pid=$2 i m keep=()
  for m in "${AZB_MOUNTS[@]}"; do
    case "$m" in "$mnt $pid "*) ;; *) keep+=("$m") ;; esac
  done
  AZB_MOUNTS=("${keep[@]}")
  mountpoint -q "$mnt" && fusermount3 -u "$mnt" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
  fusermount3 -uz "$mnt" 2>/dev/null
  return 0
}

# so that "bash -c" checks can use them
export AZB_NODE AZB_TESTS_DIR AZB_TMP
export -f azb_sdk azb_sdk_emu _azb_node azb_node_dir azb_die azb_json

# azb_start_counter: the emulator in --passthrough mode (no emulation, only
# counting requests and uploaded bytes) in front of Azurite; exports
# CNT_PORT, CNT_URL, AZB_CONN_CNT.
azb_start_counter() {
  local pid nd
  nd=$(azb_node_dir) || exit 99
  NODE_PATH=$nd "$AZB_NODE" "$AZB_JS_DIR/copyemu.js" --listen 0 --passthrough \
    --upstream "http://127.0.0.1:$AZURITE_PORT" >"$AZB_TMP/counter.out" 2>"$AZB_TMP/counter.err" &
  pid=$!
  AZB_PIDS+=("$pid")
  CNT_PORT=$(_azb_wait_listening "$AZB_TMP/counter.out" "$pid" counter) || exit 99
  CNT_URL="http://127.0.0.1:$CNT_PORT/$AZB_ACCOUNT"
  AZB_CONN_CNT="DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=$CNT_URL;"
  export CNT_PORT CNT_URL AZB_CONN_CNT
}
azb_cnt_log() { curl -sS --fail "http://127.0.0.1:$CNT_PORT/__emu/log"; }
azb_cnt_reset() { curl -sS --fail -o /dev/null -X POST "http://127.0.0.1:$CNT_PORT/__emu/reset"; }

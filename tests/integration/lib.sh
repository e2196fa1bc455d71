# lib.sh -- mounting azblobfs and asserting outcomes in integration tests.
#
# Source after services.sh from a script running under "set -eu". Each
# check prints a TAP line, "ok N - what" or "not ok N - what"; azb_done
# prints the closing "# N passed, M failed" line and the plan "1..N", and
# exits 1 if anything failed. automake's tap-driver.sh reads them, so
# make check reports every check by name.
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

lacks() { # PATTERN CMD... : CMD succeeds and no line of its output matches PATTERN
  local want=$1 out
  shift
  if ! out=$("$@" 2>&1); then
    echo "  (failed: $out)" >&2
    return 1
  fi
  if grep -q -e "$want" <<<"$out"; then
    echo "  (found /$want/ in: $(grep -e "$want" <<<"$out" | head -3 | tr '\n' ' '))" >&2
    return 1
  fi
  return 0
}

azb_none() { # C PREFIX : the server lists no blob under PREFIX (and the listing worked)
  local out
  out=$(azb_sdk list "$1" "$2") || { echo "  (listing $2 failed)" >&2; return 1; }
  [ -z "$out" ] || { echo "  (still there: $(head -3 <<<"$out" | tr '\n' ' '))" >&2; return 1; }
}

AZB_MOUNTS=() # "MNT PID LOG" of the mounts made by azb_mount, still mounted
AZB_LOGS=()   # the log of every daemon started (a script may add its own)

# Secrets the tests hand to azblobfs, looked for verbatim in every daemon
# log by azb_done: the dev account key, the made-up keys and signatures of
# t_mount_errors.sh, t_copy.sh and t_emulator.sh. A script adds the secrets
# it makes up at run time (a generated SAS signature) with AZB_SECRETS+=().
AZB_SECRETS=("$AZB_KEY" VE9QU0VDUkVUVE9QU0VDUkVUVE9QU0VDUkVU TOPSECRET secret123)

# Secrets by their shape, whatever their value (grep -P, case-insensitive):
# a SAS signature that is not "sig=REDACTED", an Authorization header, a
# Shared Key signature ("SharedKey account:signature"), a bearer token, an
# OAuth client secret or access token given a value.
AZB_SECRET_SHAPES=(
  'sig=(?!REDACTED)[^&\s"]'
  'authorization:'
  'SharedKey(Lite)? [a-z0-9]+:'
  'bearer [a-z0-9._~+/=-]{8,}'
  'client_secret=(?!REDACTED)[^&\s"]'
  'access_token"?[=:] *"?(?!REDACTED)[a-z0-9._~+/-]{8,}'
)

# azb_secret_hits LOG : prints "N line(s) with WHAT" for each kind of secret
# found in LOG (never the secret itself); prints nothing when LOG is clean
azb_secret_hits() {
  local log=$1 s n i=0
  for s in "${AZB_SECRETS[@]}"; do
    i=$((i + 1))
    n=$(grep -c -F -e "$s" "$log" || true)
    [ "$n" -eq 0 ] || echo "$n line(s) with test secret #$i"
  done
  for s in "${AZB_SECRET_SHAPES[@]}"; do
    n=$(grep -c -i -P -e "$s" "$log" || true)
    [ "$n" -eq 0 ] || echo "$n line(s) matching /$s/"
  done
}

# _azb_secret_lines LOG : the numbers of the lines of LOG that azb_secret_hits
# counts, once each
_azb_secret_lines() {
  local s
  {
    for s in "${AZB_SECRETS[@]}"; do grep -n -F -e "$s" "$1" || true; done
    for s in "${AZB_SECRET_SHAPES[@]}"; do grep -n -i -P -e "$s" "$1" || true; done
  } | cut -d: -f1 | sort -n -u
}

# _azb_secret_selfcheck : the secret scan must flag every line of a made-up
# log of leaks, and none of the lines azblobfs is allowed to print
_azb_secret_selfcheck() {
  local f=$AZB_TMP/secret-selfcheck.log s got
  {
    echo "azblobfs: info: Copy Blob a -> b: http://h/c/b?sv=2020-10-02&sig=AbC%2Bd%3D&se=1"
    echo "azblobfs: debug: Authorization: SharedKey devstoreaccount1:c2lnbmF0dXJl"
    echo "azblobfs: debug: sent SharedKey devstoreaccount1:c2lnbmF0dXJl"
    echo "azblobfs: debug: header Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi"
    echo "azblobfs: debug: form grant_type=client_credentials&client_secret=s3cr3t-value"
    echo 'azblobfs: debug: {"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOi"}'
    for s in "${AZB_SECRETS[@]}"; do echo "azblobfs: error: key $s"; done
  } >"$f"
  got=$(_azb_secret_lines "$f" | tr '\n' ' ')
  [ "$got" = "$(seq -s ' ' 1 "$(wc -l <"$f")") " ] || { echo "  (secret scan: leaks on lines $got)" >&2; return 1; }
  printf '%s\n' "azblobfs: info: copy source http://h/c/b?sv=2020&sig=REDACTED&se=1" \
    "azblobfs: info: Put Block List: authorization failed: no key" \
    "azblobfs: debug: obtained an access token valid for 3599 s" >"$f"
  got=$(_azb_secret_lines "$f")
  [ -z "$got" ] || { echo "  (secret scan flags clean lines $got)" >&2; return 1; }
  rm -f "$f"
}

# azb_done: unmounts every mount, checks that each daemon exited and left no
# sanitizer report (AddressSanitizer, LeakSanitizer, UBSan) and no secret
# (AZB_SECRETS, AZB_SECRET_SHAPES) in its log, then prints the closing line
# and fails if any check failed.
azb_done() {
  local m mnt pid log hits
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
  if [ "${#AZB_LOGS[@]}" -gt 0 ]; then
    _azb_tmp
    ok "the secret scan of the daemon logs catches a made-up leak" _azb_secret_selfcheck
    if [ "${AZB_LOGLEVEL:-debug}" = debug ]; then
      ok "the daemon logs are at debug level" grep -q -h ': debug: ' "${AZB_LOGS[@]}"
    fi
  fi
  for log in "${AZB_LOGS[@]}"; do
    hits=$(azb_secret_hits "$log")
    if [ -n "$hits" ]; then
      printf '  %s: %s\n' "$(basename "$log")" "$hits" | sed '2,$s/^/  /' >&2
      ok "no secret in $(basename "$log") ($(wc -l <"$log") lines)" false
    else
      ok "no secret in $(basename "$log") ($(wc -l <"$log") lines)" true
    fi
  done
  echo "# $AZB_PASS passed, $AZB_FAIL failed"
  echo "1..$AZB_N" # the TAP plan: make check lists every check by name
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
# in the background, waits for it, unmounts at exit. The daemon logs at
# debug level (AZB_LOGLEVEL=LEVEL, or loglevel= in EXTRA, which comes later,
# changes that) to $AZB_TMP/mount-NAME.log, which azb_done checks.
azb_mount() {
  local src=$1 mnt=$2 conn=${3:-$AZB_CONN} extra=${4:-} cred i pid log
  mkdir -p "$mnt"
  cred=$(azb_credfile "$conn")
  log="$AZB_TMP/mount-$(basename "$mnt").log"
  "$AZBLOBFS_BIN" "$src" "$mnt" -f -o "credentials=$cred,cache_dir=$AZB_TMP/cache-$(basename "$mnt"),loglevel=${AZB_LOGLEVEL:-debug}${extra:+,$extra}" \
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

# azb_holders MNT : the processes with an open file or working directory
# under MNT, as "PID:NAME" words (read from /proc, without touching MNT)
azb_holders() {
  local mnt=$1 p l out=
  for p in /proc/[0-9]*; do
    for l in "$p"/cwd "$p"/fd/*; do
      case "$(readlink "$l" 2>/dev/null)" in
      "$mnt" | "$mnt"/*)
        out="$out ${p#/proc/}:$(cat "$p/comm" 2>/dev/null)"
        break
        ;;
      esac
    done
  done
  echo "${out# }"
}

# azb_umount MNT PID : unmounts and waits for the daemon to exit
azb_umount() {
  local mnt=$1 pid=$2 i m keep=()
  for m in "${AZB_MOUNTS[@]}"; do
    case "$m" in "$mnt $pid "*) ;; *) keep+=("$m") ;; esac
  done
  AZB_MOUNTS=("${keep[@]}")
  # a process still holding a file or its working directory on the mount
  # (EBUSY) must not end the calling script under set -e: try for 10 s,
  # say who holds it, then detach it lazily
  if mountpoint -q "$mnt"; then
    for ((i = 0; i < 50; i++)); do
      fusermount3 -u "$mnt" 2>/dev/null && break
      sleep 0.2
    done
    if mountpoint -q "$mnt" && [ "$i" -ge 50 ]; then
      echo "# $mnt still busy after 10 s (held by: $(azb_holders "$mnt")); detaching it"
      fusermount3 -uz "$mnt" 2>/dev/null || true
    fi
  fi
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
export -f azb_sdk azb_sdk_emu azb_absent _azb_node azb_node_dir azb_die azb_json

# azb_start_passthrough VAR NAME [OPTIONS...]: the emulator in
# --passthrough mode (no emulation, only counting requests and uploaded
# bytes; OPTIONS such as --conn-rate go to copyemu.js) in front of
# Azurite; its port goes into VAR
azb_start_passthrough() {
  local var=$1 name=$2 pid nd out port
  shift 2
  nd=$(azb_node_dir) || exit 99
  out=$(mktemp "$AZB_TMP/$name.XXXXXX")
  NODE_PATH=$nd "$AZB_NODE" "$AZB_JS_DIR/copyemu.js" --listen 0 --passthrough "$@" \
    --upstream "http://127.0.0.1:$AZURITE_PORT" >"$out" 2>"$out.err" &
  pid=$!
  AZB_PIDS+=("$pid")
  port=$(_azb_wait_listening "$out" "$pid" "$name") || exit 99
  printf -v "$var" %s "$port"
}

# azb_start_counter [OPTIONS...]: a passthrough emulator for a test to
# count with; exports CNT_PORT, CNT_URL, AZB_CONN_CNT.
azb_start_counter() {
  azb_start_passthrough CNT_PORT counter "$@"
  CNT_URL="http://127.0.0.1:$CNT_PORT/$AZB_ACCOUNT"
  AZB_CONN_CNT="DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=$CNT_URL;"
  export CNT_PORT CNT_URL AZB_CONN_CNT
}
azb_cnt_log() { curl -sS --fail "http://127.0.0.1:$CNT_PORT/__emu/log"; }
azb_cnt_reset() { curl -sS --fail -o /dev/null -X POST "http://127.0.0.1:$CNT_PORT/__emu/reset"; }

# azb_notify_listen ADDR MNT OUT : a service manager's end of NOTIFY_SOCKET.
# Binds ADDR (a path, or an abstract name starting with '@') and appends one
# line to OUT per datagram: its text (newlines as '|'), a tab, and "mounted"
# or "unmounted": whether MNT was a mount point when the datagram arrived
# (read from /proc/self/mountinfo, which never waits for the daemon).
azb_notify_listen() {
  local py pid i
  py=/usr/bin/python3
  [ -x "$py" ] || py=$(command -v python3) || azb_die "python3 missing: apt-get install python3"
  _azb_tmp
  : >"$3"
  "$py" -c '
import socket, sys
addr, mnt, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out + ".ready", "w").close()
def mounted():
    with open("/proc/self/mountinfo") as f:
        return any(l.split()[4] == mnt for l in f)
while True:
    data = s.recv(4096).decode("utf-8", "replace")
    state = "mounted" if mounted() else "unmounted"
    with open(out, "a") as f:
        f.write(data.replace("\n", "|") + "\t" + state + "\n")
' "$1" "$2" "$3" 2>"$3.err" &
  pid=$!
  AZB_PIDS+=("$pid")
  for ((i = 0; i < 100; i++)); do
    [ -e "$3.ready" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$3.err" >&2
  azb_die "the notify listener on $1 did not start"
}

# azb_machine_lock "$@" : first thing after sourcing lib.sh in a test that
# changes the machine itself (/usr/local/bin, /etc/fstab, installed
# packages). Runs the script again, from the top, holding
# /run/lock/azblobfs-machine-tests.lock, so that such tests take turns
# whether one "make -j check" or several people start them. flock(1)
# holds the lock, not a descriptor of the script, so no daemon the script
# starts can keep it after the script ended.
azb_machine_lock() {
  local lock=/run/lock/azblobfs-machine-tests.lock rc=0
  [ -z "${AZB_MACHINE_LOCKED:-}" ] || return 0
  AZB_MACHINE_LOCKED=1 flock -w 900 -E 98 -o "$lock" "$BASH" "$0" "$@" || rc=$?
  [ "$rc" -ne 98 ] || azb_die "$lock stayed taken for 15 minutes (another test that changes the machine?)"
  exit "$rc"
}

# t_hostile.sh -- azblobfs against a server that lies (tests/js/hostile.js):
# an XML entity bomb in a DTD, a listing larger than azblobfs accepts, a
# truncated listing, 72 KB of response headers, a Content-Length longer and
# one shorter than the body, an answer that is not HTTP, and silence.
# Whatever the server sends, the user gets a clear error (EIO) within the
# bounds of retries= and timeout=, never a hang, a crash or wrong data, and
# the daemon goes on serving good requests. A mount whose first answer is
# garbage, oversized or silence fails before daemonizing, with one line and
# exit status 1.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_hostile
M="$AZB_TMP/m"
# a stall costs (retries + 1) * timeout plus one backoff: about 4.2 s
azb_mount good "$M" "$AZB_CONN_HOSTILE" "retries=1,timeout=2"
PID=$AZB_MOUNT_PID
L="$AZB_TMP/local"
mkdir -p "$L"
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
served() { azb_hostile_count "$1"; }
requests() { azb_hostile_count all; }
# content KIND : what the good service holds in KIND.bin and KIND/f
content() { yes "$1" | head -c 262144 >"$L/$1"; sha "$L/$1"; }

eq "the good service lists: KIND.bin and KIND/ for 8 kinds, echo/, good.txt" 18 "$(ls "$M" | wc -l)"
eq "a good file reads" "good data" "$(cat "$M/good.txt")"
eq "a 256 KiB file reads (ranged Get Blob)" "$(content dtd)" "$(sha "$M/dtd.bin")"

# serving N : the daemon is alive and answers a request no cache can
# answer: the content of echo/N (N < 1000), which it has never read
serving() {
  local before out
  before=$(requests)
  kill -0 "$PID" 2>/dev/null || { echo "  (the daemon is gone)" >&2; return 1; }
  out=$(timeout 20 cat "$M/echo/$1" 2>&1) || true
  [ "$out" = "$1" ] || { echo "  (cat of echo/$1: $out)" >&2; return 1; }
  [ "$(requests)" -gt "$before" ] || { echo "  (no request reached the server)" >&2; return 1; }
}

# hostile KIND DESCRIPTION CMD... : CMD fails with EIO, within MAX_MS
# (default 15 s), after the server gave KIND's answer at least once; then
# the daemon still serves
hostile() {
  local kind=$1 d=$2 before t ms
  shift 2
  before=$(served "$kind")
  t=$(date +%s%N)
  ok "$kind: $d fails with EIO" fails_with "Input/output error" timeout 30 "$@"
  ms=$(ms_since "$t")
  echo "# $kind: $d failed after $ms ms"
  ok "$kind: ... in bounded time ($ms ms)" test "$ms" -lt "${MAX_MS:-15000}"
  ok "$kind: ... the server did give that answer" test "$(served "$kind")" -gt "$before"
  ok "$kind: ... the daemon still serves good requests" serving "$AZB_N"
}

# --- the listing (List Blobs) ---------------------------------------------
hostile dtd "ls of a directory whose listing declares an entity bomb" ls "$M/dtd"
hostile bigxml "ls of a directory whose listing is 66 MiB (chunked)" ls "$M/bigxml"
hostile badxml "ls of a directory whose listing is cut short" ls "$M/badxml"
hostile cl-long "ls, the listing's Content-Length longer than its body" ls "$M/cl-long"
hostile cl-short "ls, the listing's Content-Length shorter than its body" ls "$M/cl-short"
hostile dtd "stat of a file in that directory" stat "$M/dtd/f"

# --- reading a blob (Get Blob) --------------------------------------------
eq "cl-long: the properties are good: the file has its size" 262144 "$(stat -c %s "$M/cl-long.bin" 2>&1)"
hostile cl-long "cat, the body shorter than its Content-Length" cat "$M/cl-long.bin"
# a Content-Length shorter than the body must not pass for the end of file
eq "cl-short: the properties are good: the file has its size" 262144 "$(stat -c %s "$M/cl-short.bin" 2>&1)"
hostile cl-short "cat, the Content-Length shorter than the body" cat "$M/cl-short.bin"
ok "cl-short: ... no partial copy was taken for the file" bash -c "! cp '$M/cl-short.bin' '$L/partial' 2>/dev/null"

# --- every answer ---------------------------------------------------------
hostile bighdr "stat, 72 KB of response headers" stat "$M/bighdr/f"
hostile bighdr "cat, 72 KB of response headers" cat "$M/bighdr.bin"
hostile garbage "stat, an answer that is not HTTP" stat "$M/garbage/f"
hostile garbage "cat, an answer that is not HTTP" cat "$M/garbage.bin"
hostile stall "stat of a server that never answers" stat "$M/stall/f"
hostile stall "cat of a server that never answers" cat "$M/stall.bin"
eq "after all that, a 256 KiB file still reads right" "$(content badxml)" "$(sha "$M/badxml.bin")"
grep -e ': warn: ' -e ': error: ' -e 'larger than allowed' -e 'does not hold' "$AZB_TMP/mount-m.log" |
  sed 's/request id [0-9a-f-]*/request id .../' | sort | uniq -c | sed 's/^ */# log: /' || true

# --- at mount time --------------------------------------------------------
# mount_fails CONTAINER TEXT : mounting CONTAINER exits 1 within 15 s with
# one line naming TEXT, and mounts nothing
X="$AZB_TMP/x"
mkdir -p "$X"
cred=$(azb_credfile "$AZB_CONN_HOSTILE")
mount_fails() {
  local out rc=0 t before
  before=$(served "$1")
  t=$(date +%s%N)
  out=$(timeout 30 "$AZBLOBFS_BIN" "$1" "$X" -o "credentials=$cred,cache_dir=$AZB_TMP/cache-x,retries=1,timeout=2" 2>&1) || rc=$?
  echo "# mount of $1: exit $rc after $(ms_since "$t") ms: $out"
  if mountpoint -q "$X"; then
    fusermount3 -u "$X"
    echo "  (it mounted)" >&2
    return 1
  fi
  [ "$rc" -eq 1 ] || { echo "  (exit status $rc)" >&2; return 1; }
  [ "$(ms_since "$t")" -lt 15000 ] || { echo "  (too slow)" >&2; return 1; }
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || { echo "  (not one line)" >&2; return 1; }
  case "$out" in *"$2"*) ;; *) echo "  (no '$2' in it)" >&2; return 1 ;; esac
  case "$out" in *"$AZB_KEY"*) echo "  (the key in it)" >&2; return 1 ;; esac
  [ "$(served "$1")" -gt "$before" ] || { echo "  (the server did not give that answer)" >&2; return 1; }
}
ok "a mount answered with garbage fails clearly" mount_fails garbage "does not answer like a Blob service (Unsupported protocol)"
ok "a mount answered with 72 KB of headers fails clearly" mount_fails bighdr "does not answer like a Blob service (response headers larger than allowed)"
ok "a mount answered by silence fails clearly" mount_fails stall "cannot reach the endpoint"
azb_done

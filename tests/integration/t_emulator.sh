#!/bin/bash
# t_emulator.sh - self-test of the async-copy emulator (tests/js/copyemu.js)
# with Azurite, sdk.js, httpfiles.js and curl only (no FUSE).
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines; exits 0 only if
# every check passed, 1 otherwise, 99 if the services cannot be started.
set -eu
. "$(dirname "$0")/services.sh"

RATE=262144          # 256 KiB/s: a 2 MiB copy stays pending for ~8 s
SIZE=2097152
C=emutest
N=0
FAILED=0

ok() { # COND-EXIT-STATUS DESCRIPTION
  N=$((N + 1))
  if [ "$1" -eq 0 ]; then echo "ok $N - $2"; else echo "not ok $N - $2"; FAILED=$((FAILED + 1)); fi
}
check() { # DESCRIPTION CMD... : ok if CMD succeeds
  local d=$1; shift
  if "$@"; then ok 0 "$d"; else ok 1 "$d"; fi
}
props_field() { azb_sdk_emu props "$C" "$1" | azb_json "$2"; }
wait_status() { # BLOB STATUS SECONDS
  local i s
  for ((i = 0; i < $3 * 5; i++)); do
    s=$(props_field "$1" .copyStatus)
    [ "$s" = "$2" ] && return 0
    sleep 0.2
  done
  echo "# $1: status '$s', expected '$2'" >&2
  return 1
}

azb_start_azurite
azb_start_copyemu "$RATE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/t_emulator.XXXXXX")
azb_on_exit 'rm -rf "$WORK"'

azb_sdk mkcontainer "$C"
head -c "$SIZE" /dev/urandom >"$WORK/src.bin"
SRC_SHA=$(sha256sum "$WORK/src.bin" | cut -d' ' -f1)
SRC='source blob #1 100%.bin'
azb_sdk put "$C" "$SRC" "$WORK/src.bin"
SRC_URL=$(azb_sdk seturl "$C" "$SRC")

# 1-4: a copy is pending, progresses, then succeeds with identical content
DST='dest one?&+.bin'
ID=$(azb_sdk_emu startcopy "$C" "$DST" "$SRC_URL")
ok $? "startcopy through the emulator returns a copy id ($ID)"
P=$(azb_sdk_emu props "$C" "$DST")
ST=$(echo "$P" | azb_json .copyStatus)
PROG=$(echo "$P" | azb_json .copyProgress)
X=${PROG%/*}
check "copy is pending with partial progress ($ST $PROG)" \
  test "$ST" = pending -a "${PROG#*/}" = "$SIZE" -a "$X" -lt "$SIZE"
check "pending destination has length 0 and the copy id" \
  test "$(echo "$P" | azb_json .contentLength)" = 0 -a "$(echo "$P" | azb_json .copyId)" = "$ID"
L=$(azb_sdk_emu listjson "$C" dest | azb_json 'j[0].copyStatus + " " + j[0].copyId')
check "List Blobs (include=copy) shows the pending copy" test "$L" = "pending $ID"
check "copy reaches success" wait_status "$DST" success 20
check "copied content is identical (sha256)" test "$(azb_sdk sha256 "$C" "$DST")" = "$SRC_SHA"
P=$(azb_sdk_emu props "$C" "$DST")
check "success shows full progress and a completion time" \
  test "$(echo "$P" | azb_json .copyProgress)" = "$SIZE/$SIZE" -a "$(echo "$P" | azb_json .copyCompletedOn)" != null

# abort (at a crawl, so that the copies below stay pending however slow
# this machine is)
azb_emu_rate 8192
azb_emu_reset
ID2=$(azb_sdk_emu startcopy "$C" dest2 "$SRC_URL")
check "abort of a pending copy succeeds" azb_sdk_emu abortcopy "$C" dest2 "$ID2"
P=$(azb_sdk_emu props "$C" dest2)
check "aborted copy: status aborted, length 0" \
  test "$(echo "$P" | azb_json .copyStatus)" = aborted -a "$(echo "$P" | azb_json .contentLength)" = 0
check "emulator log records the abort (204)" \
  test "$(azb_emu_log | azb_json "j.aborts.filter(a => a.id === '$ID2' && a.result === 204).length")" = 1
ERR=$(azb_sdk_emu abortcopy "$C" dest2 "$ID2" 2>&1 || true)
check "second abort is 409 NoPendingCopyOperation" grep -q '409 NoPendingCopyOperation' <<<"$ERR"

# source modified during the copy -> failed
SRC2='source two'
azb_sdk put "$C" "$SRC2" "$WORK/src.bin"
ID3=$(azb_sdk_emu startcopy "$C" dest3 "$(azb_sdk seturl "$C" "$SRC2")")
sleep 0.3
azb_sdk putstr "$C" "$SRC2" "changed"
check "copy fails when the source changes" wait_status dest3 failed 5
P=$(azb_sdk_emu props "$C" dest3)
check "failed copy: SourceModified description, length 0" \
  test "$(echo "$P" | azb_json '/SourceModified/.test(j.copyStatusDescription)')" = true \
  -a "$(echo "$P" | azb_json .contentLength)" = 0

# writes to a pending destination
ID4=$(azb_sdk_emu startcopy "$C" dest4 "$SRC_URL")
ERR=$(azb_sdk_emu putstr "$C" dest4 "x" 2>&1 || true)
check "Put Blob on a pending destination is 409 PendingCopyOperation" grep -q '409 PendingCopyOperation' <<<"$ERR"
ERR=$(azb_sdk_emu delete "$C" dest4 2>&1 || true)
check "Delete on a pending destination is 409 PendingCopyOperation" grep -q '409 PendingCopyOperation' <<<"$ERR"
ERR=$(azb_sdk_emu startcopy "$C" dest4 "$SRC_URL" 2>&1 || true)
check "second copy to a pending destination is 409 PendingCopyOperation" grep -q '409 PendingCopyOperation' <<<"$ERR"
ERR=$(azb_sdk_emu abortcopy "$C" dest4 00000000-0000-0000-0000-000000000000 2>&1 || true)
check "abort with a wrong id is 409 CopyIdMismatch" grep -q '409 CopyIdMismatch' <<<"$ERR"
azb_sdk_emu abortcopy "$C" dest4 "$ID4"
azb_emu_rate "$RATE"
HTTP=$(curl -s -o "$WORK/err.xml" -w '%{http_code}' "http://127.0.0.1:$EMU_PORT/devstoreaccount1/$C/nope" \
  -X PUT -H "x-ms-copy-source: $AZURITE_URL/$C/missing" -H 'x-ms-version: 2021-08-06')
check "emulator-generated errors carry an Azure XML body (missing source: 404)" \
  grep -q '<Code>CannotVerifyCopySource</Code>' "$WORK/err.xml"
check "... with HTTP status 404" test "$HTTP" = 404

# copy from an external URL protected by a signature
mkdir -p "$WORK/files"
head -c 100000 /dev/urandom >"$WORK/files/ext file.bin"
azb_start_httpfiles "$WORK/files" secret123
EXT="http://127.0.0.1:$FILES_PORT/ext%20file.bin"
ERR=$(azb_sdk_emu startcopy "$C" dest5 "$EXT?sig=wrong" 2>&1 || true)
check "external copy with a bad signature fails with CannotVerifyCopySource" grep -q 'CannotVerifyCopySource' <<<"$ERR"
azb_sdk_emu startcopy "$C" dest5 "$EXT?sv=2020&sig=secret123" >/dev/null
check "external copy with ?sig= succeeds" wait_status dest5 success 10
check "external copy content is identical" \
  test "$(azb_sdk sha256 "$C" dest5)" = "$(sha256sum "$WORK/files/ext file.bin" | cut -d' ' -f1)"
check "external copy reports the URL as given" \
  test "$(props_field dest5 .copySource)" = "$EXT?sv=2020&sig=secret123"

# byte accounting: an upload through the emulator counts its body bytes,
# a server-side copy counts none
azb_emu_reset
azb_sdk_emu put "$C" uploaded "$WORK/src.bin"
B=$(azb_emu_log | azb_json .uploadBodyBytes)
check "uploadBodyBytes grows by ~2 MiB after an upload ($B)" test "$B" -ge "$SIZE" -a "$B" -lt $((SIZE + 65536))
azb_emu_reset
azb_emu_rate 104857600
azb_sdk_emu startcopy "$C" dest6 "$SRC_URL" >/dev/null
wait_status dest6 success 10 || true
LOG=$(azb_emu_log)
check "a server-side copy uploads no body bytes" \
  test "$(echo "$LOG" | azb_json .uploadBodyBytes)" = 0 -a "$(echo "$LOG" | azb_json .ops.CopyBlob)" = 1

# overwriting an ended copy's destination forgets its copy state
azb_sdk_emu putstr "$C" dest6 "fresh"
check "overwritten destination no longer shows copy properties" test "$(props_field dest6 .copyStatus)" = null

# --latency: a proxy holding each request 200 ms (a distant service), next
# to the emulator without it; curl fetches the same blob through both with
# an account SAS (min of 3 requests, so a busy machine cannot fake a delay)
NODE_DIR=$(azb_node_dir)
NODE_PATH=$NODE_DIR "$AZB_NODE" "$AZB_JS_DIR/copyemu.js" --listen 0 --passthrough --latency 200 \
  --upstream "http://127.0.0.1:$AZURITE_PORT" >"$WORK/lat.out" 2>"$WORK/lat.out.err" &
AZB_PIDS+=("$!")
LAT_PORT=$(_azb_wait_listening "$WORK/lat.out" "$!" "copyemu --latency") || exit 99
SAS=$(_azb_node -e '
const s = require("@azure/storage-blob");
const cred = new s.StorageSharedKeyCredential(process.env.AZB_ACCOUNT, process.env.AZB_KEY);
console.log(s.generateAccountSASQueryParameters({
  expiresOn: new Date(Date.now() + 3600e3), permissions: s.AccountSASPermissions.parse("r"),
  services: "b", resourceTypes: "o" }, cred).toString());')
fetch_ms() { # PORT : milliseconds of the fastest of 3 GETs of uploaded, checked
  local i best="" t
  for i in 1 2 3; do
    t=$(curl -sS -o "$WORK/lat.bin" -w '%{http_code} %{time_total}' \
      "http://127.0.0.1:$1/$AZB_ACCOUNT/$C/uploaded?$SAS") || return 1
    [ "${t% *}" = 200 ] && cmp -s "$WORK/lat.bin" "$WORK/src.bin" || { echo "# GET through $1: $t" >&2; return 1; }
    t=$(awk -v s="${t#* }" 'BEGIN { printf "%d", s * 1000 }')
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}
LAT_MS=$(fetch_ms "$LAT_PORT" || echo fail)
PLAIN_MS=$(fetch_ms "$EMU_PORT" || echo fail)
check "a GET through a --latency 200 proxy takes >= 200 ms and gets the blob ($LAT_MS ms)" \
  test "$LAT_MS" != fail -a "$LAT_MS" -ge 200
check "the same GET through the emulator without --latency takes < 200 ms ($PLAIN_MS ms)" \
  test "$PLAIN_MS" != fail -a "$PLAIN_MS" -lt 200
check "the proxy's log shows the latency it applies" \
  test "$(curl -sS --fail "http://127.0.0.1:$LAT_PORT/__emu/log" | azb_json 'j.latencyMs + " " + j.ops.GetBlob')" = "200 3"

echo "1..$N"
if [ "$FAILED" -ne 0 ]; then
  echo "# $FAILED of $N failed"
  exit 1
fi
echo "# all $N passed"
exit 0

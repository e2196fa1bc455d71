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
# wait_copy CLIENT CONTAINER BLOB STATUS SECONDS : CLIENT is azb_sdk_emu or sdk_ver
# shellcheck disable=SC2317 # run through check
wait_copy() {
  local i s
  for ((i = 0; i < $5 * 5; i++)); do
    s=$("$1" props "$2" "$3" | azb_json .copyStatus)
    [ "$s" = "$4" ] && return 0
    sleep 0.2
  done
  echo "# $2/$3: status '$s', expected '$4'" >&2
  return 1
}
# ascending_ids ID... : each is a version id in the service's form (the time
# of the write, 100 ns resolution), each later than the one before
ID_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{7}Z$'
# shellcheck disable=SC2317 # run through check
ascending_ids() {
  local prev="" id
  for id in "$@"; do
    grep -Eq "$ID_RE" <<<"$id" || return 1
    [ -z "$prev" ] || [[ "$prev" < "$id" ]] || return 1
    prev=$id
  done
}
# shellcheck disable=SC2317 # run through check
fails() { ! "$@" >/dev/null 2>&1; } # CMD... : ok if CMD fails
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

# --- leases: Lease Blob goes to Azurite, which enforces it on writes sent
# through the emulator; Copy Blob checks x-ms-source-lease-id itself
azb_emu_rate 8192
azb_emu_reset
LSRC='leased source.bin'
azb_sdk put "$C" "$LSRC" "$WORK/src.bin"
LSRC_URL=$(azb_sdk seturl "$C" "$LSRC")
LID=$(azb_sdk_emu lease "$C" "$LSRC" acquire 60 || true)
check "Lease Blob acquire through the emulator gives a lease id and the blob is leased" \
  test -n "$LID" -a "$(props_field "$LSRC" .leaseState)" = leased
ERR=$(azb_sdk_emu putstr "$C" "$LSRC" x 2>&1 || true)
check "Put Blob to a leased blob without its id: the SDK sees 412 LeaseIdMissing" grep -q '412 LeaseIdMissing' <<<"$ERR"
ERR=$(azb_sdk_emu setmeta "$C" "$LSRC" a=b 2>&1 || true)
check "Set Blob Metadata without the lease id: 412 LeaseIdMissing" grep -q '412 LeaseIdMissing' <<<"$ERR"
ERR=$(azb_sdk_emu delete "$C" "$LSRC" 2>&1 || true)
check "Delete Blob without the lease id: 412 LeaseIdMissing" grep -q '412 LeaseIdMissing' <<<"$ERR"
check "the leased blob kept its content" test "$(azb_sdk sha256 "$C" "$LSRC")" = "$SRC_SHA"
ERR=$(azb_sdk_emu startcopy "$C" ldest1 "$LSRC_URL" --source-lease 00000000-0000-0000-0000-000000000000 2>&1 || true)
check "Copy Blob with a wrong x-ms-source-lease-id: 412 LeaseIdMismatchWithBlobOperation" \
  grep -q '412 LeaseIdMismatchWithBlobOperation' <<<"$ERR"
check "... and no destination was made" fails azb_sdk props "$C" ldest1
ERR=$(azb_sdk_emu startcopy "$C" ldest1 "$SRC_URL" --source-lease "$LID" 2>&1 || true)
check "Copy Blob with a source lease id for an unleased source: 412 LeaseNotPresentWithBlobOperation" \
  grep -q '412 LeaseNotPresentWithBlobOperation' <<<"$ERR"
LCOPY=$(azb_sdk_emu startcopy "$C" ldest1 "$LSRC_URL" --source-lease "$LID" || true)
check "Copy Blob with the source's lease id is accepted and pending" \
  test -n "$LCOPY" -a "$(props_field ldest1 .copyStatus)" = pending
check "the source stays leased while its copy is pending" test "$(props_field "$LSRC" .leaseState)" = leased
ERR=$(azb_sdk_emu putstr "$C" "$LSRC" x 2>&1 || true)
check "a write to the source while its copy is pending: 412 LeaseIdMissing" grep -q '412 LeaseIdMissing' <<<"$ERR"
check "Lease Blob renew while the copy is pending" test "$(azb_sdk_emu lease "$C" "$LSRC" renew "$LID")" = "$LID"
azb_emu_rate 104857600
check "the copy from the leased source succeeds" wait_status ldest1 success 20
check "... with the source's content" test "$(azb_sdk sha256 "$C" ldest1)" = "$SRC_SHA"
check "Lease Blob release" azb_sdk_emu lease "$C" "$LSRC" release "$LID"
check "after the release the source takes writes without an id" azb_sdk_emu putstr "$C" "$LSRC" free
ORDER=$(azb_emu_log | LID=$LID LCOPY=$LCOPY KEY="$C/$LSRC" azb_json '(() => {
  const e = process.env;
  const l = j.leases.filter((x) => x.blob === e.KEY && x.status < 300 && x.leaseId === e.LID);
  const c = j.copies.find((x) => x.id === e.LCOPY) || {};
  const at = (k) => (l.find((x) => x.kind === k) || {}).time;
  return [l.map((x) => x.kind).join(","), c.sourceLeaseId === e.LID,
    at("acquire") <= c.startedAt && c.startedAt <= at("renew") &&
    at("renew") <= c.endedAt && c.endedAt <= at("release")].join(" ");
})()')
check "/__emu/log: acquire, renew, release with the lease id; acquired before the copy, renewed while pending, released after ($ORDER)" \
  test "$ORDER" = "acquire,renew,release true true"
azb_sdk putstr "$C" ldest2 "old"
DLID=$(azb_sdk_emu lease "$C" ldest2 acquire)
ERR=$(azb_sdk_emu startcopy "$C" ldest2 "$SRC_URL" 2>&1 || true)
check "Copy Blob onto a leased destination without x-ms-lease-id: 412 LeaseIdMissing" \
  grep -q '412 LeaseIdMissing' <<<"$ERR"
azb_sdk_emu startcopy "$C" ldest2 "$SRC_URL" --lease "$DLID" >/dev/null || true
check "with the destination's lease id the copy completes" wait_status ldest2 success 20
check "... its content arrived and the destination is still leased" \
  test "$(azb_sdk sha256 "$C" ldest2)" = "$SRC_SHA" -a "$(props_field ldest2 .leaseState)" = leased
azb_sdk_emu lease "$C" ldest2 release "$DLID"

# --- copies from snapshots (Azurite serves them; the emulator copies them)
azb_emu_rate 8192
SNAPB='snap base.bin'
azb_sdk put "$C" "$SNAPB" "$WORK/src.bin"
SNAPT=$(azb_sdk_emu snapshot "$C" "$SNAPB")
azb_sdk putstr "$C" "$SNAPB" "changed after the snapshot"
SNAPB_URL=$(azb_sdk seturl "$C" "$SNAPB")
azb_sdk_emu startcopy "$C" "$SNAPB" "$SNAPB_URL?snapshot=$SNAPT" >/dev/null || true
P=$(azb_sdk_emu props "$C" "$SNAPB")
check "restoring a snapshot over its base is pending with the snapshot's size as total" \
  test "$(echo "$P" | azb_json '[j.copyStatus, j.copyProgress.split("/")[1], j.contentLength].join(" ")')" = "pending $SIZE 0"
SCOPY=$(azb_sdk_emu startcopy "$C" snapcopy "$SNAPB_URL?snapshot=$SNAPT" || true)
check "a pending copy from a snapshot can be aborted" azb_sdk_emu abortcopy "$C" snapcopy "$SCOPY"
check "... and stays aborted with length 0" \
  test "$(azb_sdk_emu props "$C" snapcopy | azb_json '[j.copyStatus, j.contentLength].join(" ")')" = "aborted 0"
azb_emu_rate 104857600
check "the restore succeeds" wait_status "$SNAPB" success 20
check "... the base holds the snapshot's content" test "$(azb_sdk sha256 "$C" "$SNAPB")" = "$SRC_SHA"
check "... and the snapshot is unchanged" \
  test "$(azb_sdk sha256 "$C" "$SNAPB" --snapshot "$SNAPT")" = "$SRC_SHA"

# --- versions: a second emulator started with --versioning
VER_OUT="$AZB_TMP/copyemu-versioning.out"
NODE_PATH=$(azb_node_dir) "$AZB_NODE" "$AZB_JS_DIR/copyemu.js" --listen 0 --versioning \
  --upstream "http://127.0.0.1:$AZURITE_PORT" --rate "$RATE" >"$VER_OUT" 2>"$VER_OUT.err" &
AZB_PIDS+=("$!")
VER_PORT=$(_azb_wait_listening "$VER_OUT" "$!" copyemu-versioning) || exit 99
VER_CONN="DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=http://127.0.0.1:$VER_PORT/$AZB_ACCOUNT;"
sdk_ver() { AZB_CONN=$VER_CONN _azb_node "$AZB_JS_DIR/sdk.js" "$@"; }
ver_rate() { curl -sS --fail -o /dev/null -X POST "http://127.0.0.1:$VER_PORT/__emu/rate?bps=$1"; }
VC=emuversions
azb_sdk mkcontainer "$VC"
V1=$(sdk_ver put "$VC" doc "$WORK/src.bin" --print-version-id || true)
check "Put Blob answers x-ms-version-id in the service's form ($V1)" ascending_ids "$V1"
V2=$(sdk_ver putstr "$VC" doc "second" --print-version-id || true)
V3=$(sdk_ver setmeta "$VC" doc k=v --print-version-id || true)
check "Put Blob and Set Blob Metadata each make a newer version ($V2, $V3)" ascending_ids "$V1" "$V2" "$V3"
P=$(sdk_ver props "$VC" doc)
check "Get Blob Properties names the current version" \
  test "$(echo "$P" | azb_json '[j.versionId, j.isCurrentVersion].join(" ")')" = "$V3 true"
LV='j.filter((x) => x.name === "doc").map((x) => [x.versionId, String(x.isCurrentVersion), x.contentLength].join(":")).join(" ")'
check "List Blobs include=versions lists every version, oldest first, the current one last" \
  test "$(sdk_ver listversions "$VC" | azb_json "$LV")" = "$V1:null:$SIZE $V2:null:6 $V3:true:6"
check "a previous version is served by its id (sha256)" test "$(sdk_ver sha256 "$VC" doc --version "$V1")" = "$SRC_SHA"
check "... with its own properties: length, version id, not current, its own metadata" \
  test "$(sdk_ver props "$VC" doc --version "$V1" | azb_json '[j.contentLength, j.versionId, j.isCurrentVersion, JSON.stringify(j.metadata)].join(" ")')" = "$SIZE $V1  {}"
check "a range of a previous version holds those bytes" \
  test "$(sdk_ver getrange "$VC" doc 100000 5000 --version "$V1" | sha256sum)" = "$(tail -c +100001 "$WORK/src.bin" | head -c 5000 | sha256sum)"
check "the current version read by its id is the blob" test "$(sdk_ver get "$VC" doc - --version "$V3")" = second
ERR=$(sdk_ver get "$VC" doc - --version 2001-01-01T00:00:00.0000000Z 2>&1 || true)
check "an unknown version id: 404 BlobNotFound" grep -q '404 BlobNotFound' <<<"$ERR"
DOC_URL=$(azb_sdk seturl "$VC" doc)
ver_rate 8192
sdk_ver startcopy "$VC" fromv1 "$DOC_URL?versionid=$V1" >/dev/null || true
check "Copy Blob from ?versionid= is pending with the version's size as total" \
  test "$(sdk_ver props "$VC" fromv1 | azb_json '[j.copyStatus, j.copyProgress.split("/")[1]].join(" ")')" = "pending $SIZE"
VCOPY=$(sdk_ver startcopy "$VC" abortv "$DOC_URL?versionid=$V1" || true)
check "a pending copy from a version can be aborted" sdk_ver abortcopy "$VC" abortv "$VCOPY"
check "... and stays aborted with length 0" \
  test "$(sdk_ver props "$VC" abortv | azb_json '[j.copyStatus, j.contentLength].join(" ")')" = "aborted 0"
ver_rate 104857600
check "the copy from a version succeeds" wait_copy sdk_ver "$VC" fromv1 success 20
check "... with that version's content" test "$(azb_sdk sha256 "$VC" fromv1)" = "$SRC_SHA"
OUT=$(sdk_ver startcopy "$VC" doc "$DOC_URL?versionid=$V1" --print-version-id || true)
V4=$(sed -n 2p <<<"$OUT")
check "restoring a version over its base answers a new version id ($V4)" ascending_ids "$V3" "$V4"
check "the restore succeeds" wait_copy sdk_ver "$VC" doc success 20
check "... the base holds the restored content" test "$(azb_sdk sha256 "$VC" doc)" = "$SRC_SHA"
check "... and the replaced content is a previous version" \
  test "$(sdk_ver listversions "$VC" | azb_json "$LV")" = "$V1:null:$SIZE $V2:null:6 $V3:null:6 $V4:true:$SIZE"
sdk_ver delete "$VC" doc
check "Delete Blob leaves no current blob" fails sdk_ver props "$VC" doc
check "... and keeps every version, none of them current" \
  test "$(sdk_ver listversions "$VC" | azb_json "$LV")" = "$V1:null:$SIZE $V2:null:6 $V3:null:6 $V4:null:$SIZE"
check "a deleted blob's versions are still served" test "$(sdk_ver get "$VC" doc - --version "$V3")" = second
check "Delete Blob ?versionid= of a previous version" sdk_ver delete "$VC" doc --version "$V2"
check "... removes that version only" \
  test "$(sdk_ver listversions "$VC" | azb_json "$LV")" = "$V1:null:$SIZE $V3:null:6 $V4:null:$SIZE"
ERR=$(sdk_ver get "$VC" doc - --version "$V2" 2>&1 || true)
check "... which is then 404 BlobNotFound" grep -q '404 BlobNotFound' <<<"$ERR"
VCUR=$(sdk_ver putstr "$VC" cur one --print-version-id)
ERR=$(sdk_ver delete "$VC" cur --version "$VCUR" 2>&1 || true)
check "Delete Blob with the current version's id: 403 OperationNotAllowedOnRootBlob" \
  grep -q '403 OperationNotAllowedOnRootBlob' <<<"$ERR"
sdk_ver putstr "$VC" 'dir/gone' a >/dev/null
sdk_ver putstr "$VC" 'dir/gone' b >/dev/null
sdk_ver delete "$VC" 'dir/gone'
sdk_ver putstr "$VC" zz last >/dev/null
ITEMS='j.map((x) => x.prefix ? "P:" + x.prefix : x.name + ":" + (x.versionId || x.snapshot)).join(" ")'
ONE=$(sdk_ver listversions "$VC" | azb_json "$ITEMS")
PAGED=$(sdk_ver listversions "$VC" --page 1 | azb_json "$ITEMS")
check "paged by one, the listing holds every version once, in the same order" test "$PAGED" = "$ONE"
check "... blobs that only have previous versions are listed by name" \
  test "$(sdk_ver listversions "$VC" | azb_json 'j.map((x) => x.name).filter((n, i, a) => a.indexOf(n) === i).join(" ")')" = "abortv cur dir/gone doc fromv1 zz"
check "under a delimiter a directory holding only previous versions is a BlobPrefix" \
  test "$(sdk_ver listversions "$VC" --delimiter / | azb_json 'j.filter((x) => x.prefix).map((x) => x.prefix).join(" ")')" = "dir/"

# --- versioning switched on and off at run time (POST /__emu/versioning)
VSW="http://127.0.0.1:$EMU_PORT/__emu/versioning"
check "the emulator starts without versioning" test "$(curl -sS "$VSW" | azb_json .versioning)" = false
check "... and then a write has no version id" test "$(azb_sdk_emu putstr "$C" switched one --print-version-id)" = null
curl -sS --fail -o /dev/null -X POST "$VSW?on=1"
VS=$(azb_sdk_emu putstr "$C" switched two --print-version-id || true)
check "POST /__emu/versioning?on=1: writes get version ids ($VS)" ascending_ids "$VS"
curl -sS --fail -o /dev/null -X POST "$VSW?on=0"
check "POST /__emu/versioning?on=0: writes get none again" \
  test "$(azb_sdk_emu putstr "$C" switched three --print-version-id)" = null -a "$(props_field switched .versionId)" = null

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

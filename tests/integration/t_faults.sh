# t_faults.sh -- specific, repeatable faults through tests/js/chaos.js:
#   (a) 30% of the requests answered 503 + Retry-After: azblobfs retries,
#       a 20 MiB file goes up and comes back, a 200-entry directory lists;
#   (b) every request answered 503 and retries=2: cat fails with EIO (no
#       hang, no success), and the file is back once the server is;
#   (c) the proxy killed while files are open for writing: fsync and close
#       report the failure; nothing is lost once the server is back;
#   (d) exactly one answer lost (reset, truncated, or the request timed
#       out) at the critical request of cp, mv, rm, a multi-block upload's
#       commit and a rewrite: the command still succeeds.
# What reaches the server is read straight from Azurite, never through the
# mount: anonymous reads (the container is public) keep the checks fast.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=faults
AZB_CONN=$AZB_CONN_AZURITE _azb_node -e '
const { BlobServiceClient } = require("@azure/storage-blob");
BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient(process.argv[1])
  .create({ access: "container" }).catch((e) => { console.error(e.message); process.exit(1); });' $C
# stall: the proxy holds a request 3 s; mounts that meet stalls use timeout=2
AZB_CHAOS_ARGS="--seed 4242 --stall-ms 3000" azb_start_chaos 0 503
PORT=$CHAOS_PORT
L="$AZB_TMP/local"
mkdir -p "$L"
retries_in() { grep -c 'request failed (.*), retry [0-9]*/' "$AZB_TMP/mount-$1.log" || true; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
srv() { # NAME : the blob's content from Azurite, or "HTTP <status>"
  local code
  code=$(curl -s -o "$L/srv.tmp" -w '%{http_code}' "$AZURITE_URL/$C/$1")
  if [ "$code" = 200 ]; then cat "$L/srv.tmp"; else echo "HTTP $code"; fi
}
srv_sha() { # NAME : sha256 of the blob in Azurite, or "HTTP <status>"
  local code
  code=$(curl -s -o "$L/srv.tmp" -w '%{http_code}' "$AZURITE_URL/$C/$1")
  if [ "$code" = 200 ]; then sha "$L/srv.tmp"; else echo "HTTP $code"; fi
}
gone() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$AZURITE_URL/$C/$1")" = 404 ]; }
srv_list() { # PREFIX : blob names, one a line
  curl -sS "$AZURITE_URL/$C?restype=container&comp=list&prefix=$1" |
    grep -o '<Name>[^<]*</Name>' | sed 's/<Name>//; s/<\/Name>//' || true
}

# --- (a) 30% 503 ---------------------------------------------------------
azb_chaos_rate 0.3 503
A="$AZB_TMP/a"  # writes
B="$AZB_TMP/b"  # reads, with its own cache
azb_mount $C "$A" "$AZB_CONN_CHAOS" "retries=10,timeout=20,block_size=4"
azb_mount $C "$B" "$AZB_CONN_CHAOS" "retries=10,timeout=20,block_size=4"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$L/big"
want=$(sha "$L/big")
ok "(a) 20 MiB written through 30% 503s" cp "$L/big" "$A/big"
eq "(a) on the server" "$want" "$(srv_sha big)"
eq "(a) read back through another mount" "$want" "$(sha "$B/big" 2>&1)"
AZB_CONN=$AZB_CONN_AZURITE _azb_node -e '
const { BlobServiceClient } = require("@azure/storage-blob");
const c = BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient(process.argv[1]);
(async () => { const all = []; for (let i = 0; i < 200; i++) all.push(i);
  while (all.length) await Promise.all(all.splice(0, 50).map(i => c.getBlockBlobClient(`many/f${i}`).upload("abc", 3)));
})().catch(e => { console.error(e.message); process.exit(1); });' $C
eq "(a) a 200-entry directory lists completely" 200 "$(ls "$B/many" 2>&1 | wc -l)"
eq "(a) ls -l sizes" 200 "$(ls -l "$B/many" 2>&1 | grep -c ' 3 ')"
n503=$(azb_chaos_stats | azb_json ".injected['503']")
echo "# (a) 503s injected: $n503, retries logged: $(($(retries_in a) + $(retries_in b)))"
ok "(a) 503s were injected" test "$n503" -gt 5
ok "(a) azblobfs retried them" test "$(($(retries_in a) + $(retries_in b)))" -gt 5

# --- (b) every answer 503, retries=2 ------------------------------------
azb_chaos_rate 0
azb_sdk putstr $C b.txt "bee" >/dev/null
D="$AZB_TMP/d"
azb_mount $C "$D" "$AZB_CONN_CHAOS" "retries=2,timeout=10"
azb_chaos_rate 1 503
t=$(date +%s%N)
ok "(b) cat fails with EIO when every answer is 503" fails_with "Input/output error" timeout 60 cat "$D/b.txt"
echo "# (b) cat gave up after $(ms_since "$t") ms"
ok "(b) ... after the retries, not a hang" test "$(ms_since "$t")" -lt 30000
azb_chaos_rate 0
eq "(b) stat sees the file once the server answers again" 3 "$(stat -c %s "$D/b.txt" 2>&1)"
eq "(b) and cat reads it" "bee" "$(cat "$D/b.txt" 2>&1)"

# --- (c) the server goes away while files are open for writing ----------
E="$AZB_TMP/e"
azb_mount $C "$E" "$AZB_CONN_CHAOS" "retries=2,timeout=5"
EPID=$AZB_MOUNT_PID
# holder FILE DATA OPS OUT: opens FILE, writes DATA, says "written", waits
# for $L/go, then runs OPS (fsync,close) and reports each result
holder() {
  "$AZB_NODE" -e '
const fs = require("fs");
const [file, data, go, ops] = process.argv.slice(1);
const fd = fs.openSync(file, "w");
fs.writeSync(fd, data);
console.log("written");
let n = 0;
const t = setInterval(() => {
  if (!fs.existsSync(go) && ++n < 600) return;
  clearInterval(t);
  for (const op of ops.split(",")) {
    try { op === "fsync" ? fs.fsyncSync(fd) : fs.closeSync(fd); console.log(`${op} ok`); }
    catch (e) { console.log(`${op} failed: ${e.code}`); }
  }
}, 100);' "$@"
}
rm -f "$L/go"
holder "$E/w1.txt" "first file" "$L/go" close >"$L/h1" 2>&1 &
h1=$!
holder "$E/w2.txt" "second file" "$L/go" fsync,close >"$L/h2" 2>&1 &
h2=$!
for ((i = 0; i < 100; i++)); do
  grep -qs written "$L/h1" && grep -qs written "$L/h2" && break
  sleep 0.1
done
azb_stop_chaos
t=$(date +%s%N)
touch "$L/go"
for ((i = 0; i < 600; i++)); do
  kill -0 $h1 2>/dev/null || kill -0 $h2 2>/dev/null || break
  sleep 0.1
done
ok "(c) fsync and close came back (no hang)" bash -c "! kill -0 $h1 2>/dev/null && ! kill -0 $h2 2>/dev/null"
kill $h1 $h2 2>/dev/null || true
wait $h1 $h2 2>/dev/null || true
echo "# (c) close/fsync answered after $(ms_since "$t") ms"
eq "(c) close fails when the upload cannot be done" "written close failed: EIO" "$(tr '\n' ' ' <"$L/h1" | sed 's/ $//')"
eq "(c) fsync fails, and so does close" "written fsync failed: EIO close failed: EIO" "$(tr '\n' ' ' <"$L/h2" | sed 's/ $//')"
# let the upload attempts made at release end while the server is away
for ((i = 0; i < 50; i++)); do
  [ "$(grep -c 'could not be uploaded at close' "$AZB_TMP/mount-e.log")" -ge 2 ] && break
  sleep 0.1
done
AZB_CHAOS_LISTEN=$PORT AZB_CHAOS_ARGS="--stall-ms 3000" azb_start_chaos 0 503
eq "(c) the proxy is back on the same port" "$PORT" "$CHAOS_PORT"
eq "(c) the mount still has the data whose close failed" "first file" "$(cat "$E/w1.txt" 2>&1)"
echo "new" >"$E/w3.txt"
eq "(c) writing works again" "new" "$(srv w3.txt)"
azb_umount "$E" "$EPID"
eq "(c) after unmount the server has the first file" "first file" "$(srv w1.txt)"
eq "(c) ... and the second" "second file" "$(srv w2.txt)"

# --- (d) one lost answer at the critical request -------------------------
# reset: Azurite did the work, the connection is reset before the answer.
#   azblobfs sees a transport error, or, when libcurl itself sent the
#   request again (it does when a reused connection dies before the first
#   byte of an answer), the answer to that second attempt: a 404 for a
#   DELETE, a 412 for a conditional write.
# truncate: Azurite did the work, the answer is cut: azblobfs sees a
#   transport error.
# stall: the request never reaches Azurite, azblobfs times out (timeout=2).
F="$AZB_TMP/f"
azb_mount $C "$F" "$AZB_CONN_CHAOS" "retries=3,timeout=2,block_size=4"
head -c $((3 * 1024 * 1024 + 11)) /dev/urandom >"$L/src"
want=$(sha "$L/src")
cp "$L/src" "$F/src"
# lost KIND MATCH DESCRIPTION CMD... : the next request matching MATCH gets
# fault KIND while CMD runs; CMD must succeed, and the fault must have hit
lost() {
  local kind=$1 match=$2 d=$3
  shift 3
  azb_chaos_rate 1 "$kind" "$match" 1
  ok "(d) $d ($kind)" "$@"
  eq "(d) ... the $kind was injected" '"budget":0' "$(azb_chaos_stats | grep -o '"budget":[0-9a-z]*')"
  azb_chaos_rate 0
}
for k in reset truncate stall; do
  lost $k 'x-ms-copy-source:' "cp inside the mount, Copy Blob answer lost" cp "$F/src" "$F/cp-$k"
  eq "(d) ... the copy on the server ($k)" "$want" "$(srv_sha "cp-$k")"
  lost $k 'x-ms-copy-source:' "mv of a file, Copy Blob answer lost" mv "$F/cp-$k" "$F/mv-$k"
  eq "(d) ... moved on the server ($k)" "$want" "$(srv_sha "mv-$k")"
  ok "(d) ... old name gone ($k)" gone "cp-$k"
done
mkdir "$F/dir"
cp "$L/src" "$F/dir/one"
cp "$L/src" "$F/dir/two"
lost truncate 'x-ms-copy-source: .*/dir/two' "mv of a directory, a Copy Blob answer lost" mv "$F/dir" "$F/dir2"
eq "(d) ... moved on the server" "$want $want" "$(srv_sha dir2/one) $(srv_sha dir2/two)"
eq "(d) ... nothing left under the old name" "" "$(srv_list dir/)"
for k in reset truncate; do
  cp "$L/src" "$F/del-$k"
  lost $k '^DELETE ' "mv, Delete Blob answer lost" mv "$F/del-$k" "$F/moved-$k"
  eq "(d) ... moved on the server ($k)" "$want" "$(srv_sha "moved-$k")"
  ok "(d) ... old name gone ($k)" gone "del-$k"
  lost $k '^DELETE ' "rm, Delete Blob answer lost" rm "$F/moved-$k"
  ok "(d) ... gone from the server ($k)" gone "moved-$k"
done
head -c $((10 * 1024 * 1024)) /dev/urandom >"$L/blocks"
lost truncate 'comp=blocklist' "10 MiB in 4 MiB blocks, Put Block List answer lost" cp "$L/blocks" "$F/blocks"
eq "(d) ... on the server" "$(sha "$L/blocks")" "$(srv_sha blocks)"
echo "new content" >"$L/new"
for k in reset truncate; do
  echo "old" >"$F/rewrite-$k"
  # the rewrite's Put Blob carries If-Match: the version it replaces
  lost $k '^PUT [^?]*rewrite-.*\n(.*\n)*if-match:' "rewrite of a file, Put Blob answer lost" cp "$L/new" "$F/rewrite-$k"
  eq "(d) ... on the server ($k)" "new content" "$(srv "rewrite-$k")"
done
lost truncate 'comp=blocklist.*\n(.*\n)*if-match:' "rewrite in blocks, Put Block List answer lost" cp "$L/big" "$F/blocks"
eq "(d) ... on the server" "$(sha "$L/big")" "$(srv_sha blocks)"
# a read's Get Blob cut halfway through its body: the read-ahead goes on
# from the last byte that came (truncate: a FIN, every byte before it
# arrives), or libcurl's or the client's retry sends it again when nothing
# came (reset: an RST may drop what was in flight); cat gets every byte
head -c $((20 * 1024 * 1024 + 5)) /dev/urandom >"$L/rd"
cp "$L/rd" "$F/rd"
for k in truncate reset; do
  azb_mount $C "$AZB_TMP/r$k" "$AZB_CONN_CHAOS" "retries=3,timeout=5"
  lost $k '^GET [^?\n]*/rd\n' "a read's Get Blob cut halfway" cmp "$L/rd" "$AZB_TMP/r$k/rd"
  went_on=$(grep -c 'read-ahead of rd: the GET was cut, going on from byte [1-9]' "$AZB_TMP/mount-r$k.log" || true)
  if [ $k = truncate ]; then
    eq "(d) ... read on from where the bytes stopped" 1 "$went_on"
  else
    ok "(d) ... read on, or sent again ($k)" test "$((went_on + $(retries_in r$k)))" -ge 1
  fi
done
# a change in the middle of a file loads it into the staging file first
# (Get Blob with If-Match, streamed to disk): one cut halfway goes on from
# the last byte that came
printf 'PATCH' | dd of="$L/rd" bs=1 seek=$((15 * 1024 * 1024)) conv=notrunc status=none
lost truncate '^GET [^?\n]*/rd\n(.*\n)*if-match:' "a change in the middle, its load's Get Blob cut halfway" \
  sh -c "printf PATCH | dd of='$AZB_TMP/rtruncate/rd' bs=1 seek=$((15 * 1024 * 1024)) conv=notrunc status=none"
eq "(d) ... the change and the rest on the server" "$(sha "$L/rd")" "$(srv_sha rd)"
grep -e 'Copy Blob' -e 'Put Block List' -e 'Delete Blob' -e ': error: ' "$AZB_TMP/mount-f.log" |
  grep -v ' retry ' | sed 's/request id [0-9a-f-]*/request id .../; s/^/# log: /' || true
azb_done

# t_crash.sh -- a daemon killed (kill -9) in the middle of an upload leaves
# the previous blob intact. A file goes up as Put Block requests and becomes
# the blob only with the one Put Block List at the end, so the blocks sent
# before a crash are never part of it.
#
# The kill is made to land between Put Block and Put Block List: a 64 MiB
# file is rewritten through the mount, and once half of it is written and
# its first blocks are on the server (uncommitted), the fault proxy
# (tests/js/chaos.js) holds every further Put Block and Put Block List
# (stall); the writer writes the rest and closes, azblobfs has Put Blocks
# in flight, and is killed. The proxy's log proves that Put Blocks were held
# and no Put Block List was sent; the SDK then reads the old content, and
# so does a fresh mount.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=crash
azb_sdk mkcontainer $C >/dev/null
# a held request stays held for longer than this test runs
AZB_CHAOS_ARGS="--stall-ms 120000" azb_start_chaos 0 stall
M="$AZB_TMP/m"
azb_mount $C "$M" "$AZB_CONN_CHAOS" "block_size=4,timeout=60"
PID=$AZB_MOUNT_PID
L="$AZB_TMP/local"
mkdir -p "$L"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$L/old"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$L/new"
OLD=$(sha "$L/old")
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# uncommitted : how many uncommitted blocks the server holds for "big"
uncommitted() {
  _azb_node -e '
const { BlobServiceClient } = require("@azure/storage-blob");
BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient(process.argv[1])
  .getBlockBlobClient(process.argv[2]).getBlockList("uncommitted")
  .then((r) => console.log((r.uncommittedBlocks || []).length))
  .catch((e) => { console.error(e.message); process.exit(1); });' $C big
}
# held WHAT : how many requests whose URL has WHAT the proxy is holding
held() { azb_chaos_log | azb_json "j.filter(e => e.kind === 'stall' && e.url.includes('$1')).length"; }

cp "$L/old" "$M/big"
eq "64 MiB written and committed through the mount" "$OLD" "$(azb_sdk sha256 $C big)"
eq "no uncommitted block is left after the commit" 0 "$(uncommitted)"

# the writer: opens big for writing (O_TRUNC), writes the first half, says
# "half", waits for $L/go, writes the second half, says "all", closes
"$AZB_NODE" -e '
const fs = require("fs");
const [file, src, go] = process.argv.slice(1);
const data = fs.readFileSync(src);
const fd = fs.openSync(file, "w");
fs.writeSync(fd, data, 0, data.length / 2, 0);
console.log("half");
const t = setInterval(() => {
  if (!fs.existsSync(go)) return;
  clearInterval(t);
  fs.writeSync(fd, data, data.length / 2, data.length / 2, data.length / 2);
  console.log("all");
  try { fs.closeSync(fd); console.log("close ok"); } catch (e) { console.log(`close failed: ${e.code}`); }
}, 50);' "$M/big" "$L/new" "$L/go" >"$L/writer" 2>&1 &
W=$!
wait_for() { # SECONDS CMD... : until CMD succeeds
  local i n=$(($1 * 10))
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
ok "the writer wrote the first half" wait_for 30 grep -q half "$L/writer"
some_on_server() { [ "$(uncommitted)" -ge 2 ]; }
ok "its first blocks reach the server (uncommitted)" wait_for 30 some_on_server
before=$(uncommitted)
# from now on every Put Block and Put Block List is held by the proxy
azb_chaos_rate 1 stall '^PUT [^\n]*[?&]comp=block'
touch "$L/go"
ok "the writer wrote the rest and is closing" wait_for 30 grep -q all "$L/writer"
blocks_held() { [ "$(held 'comp=block&')" -ge 1 ]; }
ok "Put Block requests are in flight (held by the proxy)" wait_for 30 blocks_held
t=$(date +%s%N)
kill -9 "$PID"
{ wait "$PID"; } 2>/dev/null || true # reaped here, so bash does not report it
ok "the daemon is dead" bash -c "! kill -0 $PID 2>/dev/null"
echo "# killed with $before blocks on the server, $(held 'comp=block&') Put Blocks held, writer: $(tr '\n' ' ' <"$L/writer")"
eq "no Put Block List was sent before the kill" 0 "$(held 'comp=blocklist')"
ok "the writer's close returned" wait_for 30 bash -c "! kill -0 $W 2>/dev/null"
ok "... and did not report success" bash -c "! grep -q 'close ok' '$L/writer'"
kill "$W" 2>/dev/null || true
wait "$W" 2>/dev/null || true
fusermount3 -uz "$M"
azb_umount "$M" "$PID"
ok "the dead mount is gone" bash -c "! mountpoint -q '$M'"

eq "the blob still has the previous content (sha256 with the SDK)" "$OLD" "$(azb_sdk sha256 $C big)"
eq "... and its size" 67108864 "$(azb_sdk props $C big | azb_json j.contentLength)"
ok "the server holds the uncommitted blocks of the crashed upload" test "$(uncommitted)" -ge "$before"
F="$AZB_TMP/fresh"
azb_mount $C "$F"
eq "a fresh mount reads the previous content" "$OLD" "$(sha "$F/big")"
echo "# recovered in $(ms_since "$t") ms after the kill"
azb_done

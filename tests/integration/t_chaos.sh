# t_chaos.sh -- azblobfs through tests/js/chaos.js, a proxy that injects a
# fault into about 5% of the requests (503 with Retry-After, 500, connection
# resets mid-body, stalls longer than the mount's timeout=, truncated
# answers, slow bodies). The user must see no error at all: every command
# below has to succeed and every byte has to arrive, checked through a
# second mount and with the SDK directly against Azurite.
#
#   (a) a big file (AZB_CHAOS_MIB, default 1024 MiB) written with cp and
#       read back
#   (b) a tree of AZB_CHAOS_FILES (default 1000) small files copied in with
#       cp -r and out again
#   (c) cp inside the mount (server-side copy), mv of a file and of a
#       directory
#   (d) the faults injected and the retries azblobfs logged
#
# Knobs: AZB_CHAOS_RATE (0.05), AZB_CHAOS_SEED (random; printed),
# AZB_CHAOS_MIB, AZB_CHAOS_FILES. Run by "make check-long".
set -eu
. "$(dirname "$0")/lib.sh"

RATE=${AZB_CHAOS_RATE:-0.05}
MIB=${AZB_CHAOS_MIB:-1024}
NFILES=${AZB_CHAOS_FILES:-1000}
SEED=${AZB_CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}
# The mount gives up on a request after TIMEOUT s; a stall holds one for
# longer. A trickled 4 MiB block (block_size=4) takes 2 s, within TIMEOUT.
TIMEOUT=4
STALL_MS=5000
TRICKLE_BPS=$((2 * 1024 * 1024))
# stall is the expensive fault (TIMEOUT s each, and a cp -r waits for it):
# it is drawn a third as often as each of the others
FAULTS=503,500,reset,truncate,trickle,503,500,reset,truncate,trickle,503,500,reset,truncate,trickle,stall
MOPTS="retries=8,timeout=$TIMEOUT,block_size=4,parallel=4"
T0=$(date +%s)
elapsed() { echo "$(($(date +%s) - T0)) s"; }
same() { # DESCRIPTION EXPECTED ACTUAL : eq for long lists, shows a short diff
  if [ "$2" = "$3" ]; then
    eq "$1" same same
  else
    diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -n 12 | sed 's/^/#   /' || true
    eq "$1" "the lists above (< expected, > actual)" "differ"
  fi
}

azb_start_azurite
C=chaos
azb_sdk mkcontainer $C >/dev/null
AZB_CHAOS_ARGS="--seed $SEED --stall-ms $STALL_MS --trickle-bps $TRICKLE_BPS" \
  azb_start_chaos "$RATE" "$FAULTS"
echo "# chaos proxy: rate $RATE, seed $SEED, stall ${STALL_MS} ms, trickle $TRICKLE_BPS B/s; mount: $MOPTS"
M="$AZB_TMP/m"  # writes go here
R="$AZB_TMP/r"  # a second mount with its own cache: reads come from the server
azb_mount $C "$M" "$AZB_CONN_CHAOS" "$MOPTS"
MPID=$AZB_MOUNT_PID
azb_mount $C "$R" "$AZB_CONN_CHAOS" "$MOPTS"
RPID=$AZB_MOUNT_PID
L="$AZB_TMP/local"
mkdir -p "$L"

# (a) the big file
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$L/big"
want=$(sha "$L/big")
echo "# $MIB MiB of local data ready ($(elapsed))"
ok "(a) cp of $MIB MiB into the mount succeeds" cp "$L/big" "$M/big"
echo "# written ($(elapsed))"
eq "(a) size through the mount" $((MIB * 1024 * 1024)) "$(stat -c %s "$M/big")"
eq "(a) read back through a second mount: same sha256" "$want" "$(sha "$R/big" 2>&1)"
echo "# read back ($(elapsed))"
eq "(a) read back through the writing mount: same sha256" "$want" "$(sha "$M/big" 2>&1)"
# the proxy streams: its peak memory stays far below the file's size
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$CHAOS_PID/status")
echo "# chaos proxy peak RSS: $((hwm / 1024)) MiB"
ok "(a) the proxy streamed the bodies (peak RSS < 400 MiB)" test "$hwm" -lt $((400 * 1024))
azb_chaos_rate 0
eq "(a) on the server (SDK against Azurite): same sha256" "$want" "$(azb_sdk sha256 $C big)"
azb_chaos_rate "$RATE"
rm -f "$L/big"
echo "# (a) done ($(elapsed))"

# (b) the tree: a few directories, sizes from 0 to 64 KiB, some empty
_azb_node -e '
const fs = require("fs"), path = require("path"), crypto = require("crypto");
const [root, n] = [process.argv[1], Number(process.argv[2])];
const dirs = ["d0", "d1", "d1/sub", "d2", "d3", "d3/x/y", "d4"];
for (const d of dirs) fs.mkdirSync(path.join(root, d), { recursive: true });
fs.mkdirSync(path.join(root, "empty-dir"));
for (let i = 0; i < n; i++) {
  const size = i % 50 === 0 ? 0 : crypto.randomInt(1, 65536);
  fs.writeFileSync(path.join(root, dirs[i % dirs.length], `f${i}.dat`), crypto.randomBytes(size));
}' "$L/tree" "$NFILES"
sums() { (cd "$1" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k 2); }
want_tree=$(sums "$L/tree")
# cp_r_each FROM TO : one cp -r per entry of FROM, all at once (a lone cp -r
# spends most of its time asleep in retry back-offs; this keeps the run
# short and the mount busy)
cp_r_each() {
  local e pids=() rc=0
  for e in "$1"/*; do
    cp -r "$e" "$2/" &
    pids+=($!)
  done
  for e in "${pids[@]}"; do wait "$e" || rc=1; done
  return $rc
}
mkdir "$M/tree" "$L/back"
ok "(b) cp -r of $NFILES files into the mount succeeds" cp_r_each "$L/tree" "$M/tree"
echo "# tree copied in ($(elapsed))"
ok "(b) cp -r out again (second mount) succeeds" cp_r_each "$R/tree" "$L/back"
echo "# tree copied out ($(elapsed))"
same "(b) every file came back identical" "$want_tree" "$(sums "$L/back" 2>&1)"
eq "(b) file count" "$NFILES" "$(find "$L/back" -type f | wc -l)"
ok "(b) the empty directory came back" test -d "$L/back/empty-dir"
azb_chaos_rate 0
eq "(b) the server holds every file" "$NFILES" "$(azb_sdk list $C tree/ | grep -c '\.dat$')"
azb_chaos_rate "$RATE"
echo "# (b) done ($(elapsed))"

# (c) server-side copy, mv of a file, mv of a directory
head -c $((24 * 1024 * 1024 + 5)) /dev/urandom >"$L/c.bin"
want_c=$(sha "$L/c.bin")
ok "(c) cp of a 24 MiB file into the mount" cp "$L/c.bin" "$M/c.bin"
ok "(c) cp inside the mount succeeds" cp "$M/c.bin" "$M/c-copy.bin"
ok "(c) mv of a file succeeds" mv "$M/c-copy.bin" "$M/c-moved.bin"
ok "(c) mv of a directory succeeds" mv "$M/tree/d3" "$M/d3-moved"
azb_chaos_rate 0
eq "(c) the copy on the server" "$want_c" "$(azb_sdk sha256 $C c-moved.bin)"
eq "(c) it was a server-side copy" "success" "$(azb_sdk props $C c-moved.bin | azb_json .copyStatus)"
ok "(c) the old name is gone" azb_absent $C c-copy.bin
eq "(c) the source is intact" "$want_c" "$(azb_sdk sha256 $C c.bin)"
# name and sha256 of every blob under a prefix, straight from Azurite
server_sums() {
  AZB_CONN=$AZB_CONN_AZURITE _azb_node -e '
const crypto = require("crypto");
const { BlobServiceClient } = require("@azure/storage-blob");
const [c, prefix] = process.argv.slice(1);
const cc = BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient(c);
(async () => {
  const out = [];
  for await (const b of cc.listBlobsFlat({ prefix })) {
    if (!b.name.endsWith(".dat")) continue;
    const h = crypto.createHash("sha256");
    for await (const chunk of (await cc.getBlobClient(b.name).download()).readableStreamBody) h.update(chunk);
    out.push(`${h.digest("hex")}  ./${b.name.slice(prefix.length)}`);
  }
  out.sort((x, y) => (x.slice(66) < y.slice(66) ? -1 : x.slice(66) > y.slice(66) ? 1 : 0));
  console.log(out.join("\n"));
})().catch((e) => { console.error(e.message); process.exit(1); });' "$1" "$2"
}
want_d3=$(sums "$L/tree/d3")
got_d3=$(server_sums $C d3-moved/)
same "(c) every file of the moved directory on the server" "$want_d3" "$got_d3"
same "(c) nothing left under the old directory" "" "$(azb_sdk list $C tree/d3/)"
echo "# (c) done ($(elapsed))"

# (d) what was injected, what was retried
stats=$(azb_chaos_stats)
azb_umount "$M" "$MPID"
azb_umount "$R" "$RPID"
LOGS="$AZB_TMP/mount-m.log $AZB_TMP/mount-r.log"
# shellcheck disable=SC2086 # two file names
retries=$(cat $LOGS | grep -c 'request failed (.*), retry [0-9]*/' || true)
echo "# requests through the proxy: $(echo "$stats" | azb_json .requests) $(echo "$stats" | azb_json .byMethod)"
echo "# faults injected: $(echo "$stats" | azb_json .injected)"
echo "# faults by method: $(echo "$stats" | azb_json .injectedByMethod)"
echo "# retries logged by azblobfs: $retries"
# shellcheck disable=SC2086
cat $LOGS | sed -n 's/.*request failed (\(.*\)), retry [0-9]*\/.*/\1/p' | sort | uniq -c | sed 's/^ */#   /'
# shellcheck disable=SC2086
cat $LOGS | grep -e ': warn: ' -e ': error: ' | sed 's/request id [0-9a-f-]*/request id .../' |
  sort | uniq -c | sort -rn | head -n 30 | sed 's/^ */# log: /' || true
for k in 503 500 reset stall truncate trickle; do
  ok "(d) faults of kind $k were injected" test "$(echo "$stats" | azb_json ".injected['$k']")" -gt 0
done
ok "(d) azblobfs retried" test "$retries" -gt 0
# shellcheck disable=SC2086
ok "(d) azblobfs logged no error" lacks ': error: ' cat $LOGS
echo "# total $(elapsed)"
azb_done

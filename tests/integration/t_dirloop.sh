# t_dirloop.sh -- directories gone through file after file.
#
# Readers: the small files of a directory read in listing order are
# fetched ahead (prefetch.c): the bytes must be right, each file fetched
# once, and a blob changed on the server must not be served stale for more
# than a second. Writers: in a loop creating files, lookups of new names
# are answered from one listing of the directory a second (dir.c,
# lookup.c): far fewer requests, but a name another client made is never
# hidden for more than a second, never clobbered by a file created without
# O_TRUNC, and a reader asking for names that are not there goes back to
# the server once the listing is a second old. Requests are counted by the passthrough proxy; contents are
# checked with the SDK.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=dirloop
azb_sdk mkcontainer $C >/dev/null
azb_start_counter
M="$AZB_TMP/m"
azb_mount $C "$M" "$AZB_CONN_CNT"
L="$AZB_TMP/local"
mkdir -p "$L"

ops() { azb_cnt_log | azb_json "$1"; }
# sdk_many PREFIX FROM TO TEXT: blobs PREFIX<n> (n zero-padded to 4
# digits) holding "TEXT <n>\n", uploaded 20 at a time
sdk_many() {
  _azb_node -e "
const { BlobServiceClient } = require('@azure/storage-blob');
const c = BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient('$C');
(async () => { const all = []; for (let i = $2; i <= $3; i++) all.push(String(i).padStart(4, '0'));
  while (all.length) await Promise.all(all.splice(0, 20).map(n => { const t = '$4 ' + n + '\n';
    return c.getBlockBlobClient('$1' + n).upload(t, Buffer.byteLength(t)); }));
})().catch(e => { console.error(e.message); process.exit(1); });"
}

# --- writers -----------------------------------------------------------
mkdir "$M/w"
azb_cnt_reset
for i in $(seq -w 1 60); do echo "file $i" >"$M/w/f$i"; done
eq "60 new files: 120 Put Blob (each create, then its bytes)" 120 "$(ops j.ops.PutBlob)"
eq "60 new files: their lookups cost at most 12 requests (a listing a second, not one per name)" yes \
  "$(ops '(j.ops.ListBlobs || 0) + (j.ops.GetProperties || 0) <= 12 ? "yes" : "no"')"
eq "the 60 files are on the server" 60 "$(azb_sdk list $C w/ | wc -l)"
eq "and hold what was written" "file 37" "$(azb_sdk get $C w/f37 -)"
eq "and read back through the mount" "file 59" "$(cat "$M/w/f59")"

# names the server already has are found, not taken for new ones; the
# directory's first listing page, kept from its lookup, does not hide the
# files made since
sdk_many w2/f 5 5 sdk
for i in $(seq -w 1 10); do echo "mount $i" >>"$M/w2/f00$i" 2>/dev/null || true; done
eq "a loop appending to new names keeps the blob another client had made" \
  "$(printf 'sdk 0005\nmount 05\n')" "$(azb_sdk get $C w2/f0005 -)"
eq "ls right after the loop shows every file" 10 "$(ls "$M/w2" | wc -l)"

# a loop that comes upon names another client makes while it runs: an
# append (no O_TRUNC) never replaces the other client's blob -- it either
# finds it and appends, or its upload is refused (If-None-Match: *) and
# the append fails (at close). The other client is a running SDK process that writes
# a name just before the loop gets to it.
coproc SDKW { _azb_node -e "
const { BlobServiceClient } = require('@azure/storage-blob');
const c = BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient('$C');
const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', async name => { const t = 'sdk ' + name;
  try { await c.getBlockBlobClient(name).upload(t, t.length); console.log('ok'); }
  catch (e) { console.log('error ' + e.message); } });"; }
mkdir "$M/w3"
refused=0
kept=0
for i in $(seq 1 200); do
  n=$(printf %04d "$i")
  if [ $((i % 5)) = 0 ]; then
    echo "w3/x$n" >&"${SDKW[1]}"
    read -r reply <&"${SDKW[0]}"
    [ "$reply" = ok ] || echo "  SDK writer: $reply" >&2
  fi
  # dd reports a failed close (the shell's >> would not)
  echo "loop $n" | dd of="$M/w3/x$n" oflag=append conv=notrunc status=none 2>/dev/null ||
    refused=$((refused + 1))
done
exec {SDKW[1]}>&-
bad=0
for i in $(seq 5 5 200); do
  n=$(printf %04d "$i")
  got=$(azb_sdk get $C "w3/x$n" -)
  case "$got" in
    "sdk w3/x$n") kept=$((kept + 1)) ;;
    "sdk w3/x${n}loop $n") ;;
    *) bad=$((bad + 1)); echo "  w3/x$n: $(printf %q "$got")" >&2 ;;
  esac
done
eq "no blob another client made during the loop was clobbered" 0 "$bad"
eq "every refused append failed for the user ($refused failed, $kept left alone)" "$kept" "$refused"
ok "names made just ahead of the loop were taken for new ones and refused at upload" test "$refused" -ge 1
eq "the loop's other files are on the server" 200 "$(azb_sdk list $C w3/ | wc -l)"

# a name that appears after the loop shows a second later at the latest
sleep 1.1
azb_sdk putstr $C w/late "late one" >/dev/null
sleep 1.1
eq "a blob another client adds after the loop shows within a second" "late one" "$(cat "$M/w/late")"

# a directory made here is known empty, and its listing answers for the
# names a loop creates: a blob another client adds shows within a second
# (attr_timeout), not at once
mkdir "$M/w5"
azb_sdk putstr $C w5/seed "seed" >/dev/null
for i in $(seq -w 1 20); do echo "$i" >"$M/w5/f$i"; done
sleep 1.1
eq "a blob another client adds to a directory made here shows within a second" \
  "seed" "$(cat "$M/w5/seed")"
eq "... next to the loop's files" 21 "$(ls "$M/w5" | wc -l)"

# a reader asking for names that are not there goes to the server
mkdir "$M/w4"
for i in $(seq -w 1 10); do echo "$i" >"$M/w4/f$i"; done
test ! -e "$M/w4/nothere" || true
sleep 1.1
azb_cnt_reset
test ! -e "$M/w4/nothere2" || true
eq "a second after the listing said absent, the next lookup asks the server" yes \
  "$(ops '(j.ops.ListBlobs || 0) + (j.ops.GetProperties || 0) >= 1 ? "yes" : "no"')"

# --- readers -----------------------------------------------------------
sdk_many r/f 1 40 small
for i in $(seq 1 40); do printf 'small %04d\n' "$i"; done >"$L/r.expected"
M2="$AZB_TMP/m2"
azb_mount $C "$M2" "$AZB_CONN_CNT"
azb_cnt_reset
cat "$M2"/r/f* >"$L/r.got"
eq "cat of 40 small files in listing order: the right bytes" "$(sha "$L/r.expected")" "$(sha "$L/r.got")"
# (the List Blobs: the root's, which answers the lookup of "r", and r's)
eq "each file fetched once (40 Get Blob, 2 List Blobs)" "40 2" "$(ops '`${j.ops.GetBlob} ${j.ops.ListBlobs}`')"
# a blob changed right after it was read is read fresh
azb_sdk putstr $C r/f0005 "CHANGED 05" >/dev/null
eq "a file changed on the server after the reader passed it reads fresh" "CHANGED 05" "$(cat "$M2/r/f0005")"
# one changed ahead of the reader: stale for at most a second
M3="$AZB_TMP/m3"
azb_mount $C "$M3" "$AZB_CONN_CNT"
ls "$M3/r" >/dev/null
azb_cnt_reset
cat "$M3/r/f0001" "$M3/r/f0002" "$M3/r/f0003" >/dev/null
sleep 0.5
eq "three files read in order: the next eight are fetched ahead (2 + 9 Get Blob)" 11 "$(ops j.ops.GetBlob)"
azb_sdk putstr $C r/f0008 "CHANGED 08" >/dev/null
sleep 1.1
eq "a file changed ahead of the reader reads fresh a second later" "CHANGED 08" "$(cat "$M3/r/f0008")"
# random order: no prefetch, each file its own Get Blob
azb_cnt_reset
for i in 33 12 27 04; do cat "$M3/r/f00$i" >/dev/null; done
eq "files read out of order: one Get Blob each, nothing fetched ahead" 4 "$(ops j.ops.GetBlob)"

azb_done

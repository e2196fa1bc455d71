# t_large.sh -- a 200 MiB file goes up in parallel blocks and comes back
# identical; a partial rewrite of a large file keeps the rest.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=large
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
azb_mount $C "$M" "$AZB_CONN" "block_size=4,parallel=4"
L="$AZB_TMP/local"
mkdir -p "$L"
head -c $((200 * 1024 * 1024)) /dev/urandom >"$L/big"
cp "$L/big" "$M/big"
want=$(sha "$L/big")
eq "200 MiB on the server (SDK sha256)" "$want" "$(azb_sdk sha256 $C big)"
eq "200 MiB read back through the mount" "$want" "$(sha "$M/big")"
eq "size" $((200 * 1024 * 1024)) "$(stat -c %s "$M/big")"
eq "committed as blocks" "BlockBlob" "$(azb_sdk props $C big | azb_json 'j.blobType')"
# patch_both BYTES AT MOUNTED LOCAL : BYTES written one at a time at
# offset AT into both files (dd bs=1: one write per byte, no truncation)
patch_both() {
  local f
  for f in "$3" "$4"; do
    printf '%s' "$1" | dd of="$f" bs=1 seek="$2" conv=notrunc status=none
  done
}
patch_both PATCH $((150 * 1024 * 1024)) "$M/big" "$L/big"
eq "a patch in the middle keeps the rest" "$(sha "$L/big")" "$(azb_sdk sha256 $C big)"
# a sequential read of 200 MiB through a fresh mount: the first 64 MiB
# in one Get Blob, the next 64 MiB (the wide probe) in eight of 8 MiB,
# and the last 72 MiB in the shape the read-ahead chose by the rates it
# saw: two GETs (64 + 8 MiB, "few") or nine of 8 MiB ("wide")
azb_start_counter
N="$AZB_TMP/n"
# read_shape LOG-LINES-BEFORE : the shape the last mount of $N logged
read_shape() {
  tail -n +$(($1 + 1)) "$AZB_TMP/mount-n.log" | sed -n 's/.*read-ahead of big: .*: \([a-z]*\) spans from byte 134217728 on$/\1/p'
}
# gets_of SHAPE : the Get Blob requests of the 200 MiB read in that shape
gets_of() { case $1 in few) echo 11 ;; wide) echo 18 ;; *) echo "no shape logged" ;; esac; }
log_lines() { wc -l <"$AZB_TMP/mount-n.log"; }
azb_mount $C "$N" "$AZB_CONN_CNT"
azb_cnt_reset
want=$(sha "$L/big")
n0=$(log_lines)
eq "200 MiB read by a fresh mount" "$want" "$(sha "$N/big")"
shape=$(read_shape "$n0")
eq "... with the Get Blob of its shape ($shape)" "$(gets_of "$shape")" "$(azb_cnt_log | azb_json j.ops.GetBlob)"
# with the kernel's read-ahead at 1 MiB, several 1 MiB reads are in flight
# at once and come a little out of order, also across a span's end: the
# same GETs serve them all (no read falls back to a GET of its own)
azb_umount "$N" "$AZB_MOUNT_PID"
azb_mount $C "$N" "$AZB_CONN_CNT"
echo 1024 >"/sys/class/bdi/$(mountpoint -d "$N")/read_ahead_kb"
azb_cnt_reset
n0=$(log_lines)
cat "$N/big" >/dev/null
shape=$(read_shape "$n0")
eq "200 MiB read with 1 MiB kernel read-ahead: the Get Blob of its shape ($shape)" \
  "$(gets_of "$shape")" "$(azb_cnt_log | azb_json j.ops.GetBlob)"
eq "... and the bytes it read (now in the page cache)" "$want" "$(sha "$N/big")"
azb_umount "$N" "$AZB_MOUNT_PID"
# with 4 and 16 MiB of kernel read-ahead, reads more than a ring apart
# are in flight at once (the last of one span while later ones wait in
# the next), and some come megabytes after later ones, when their bytes
# are gone and they need GETs of their own: they all end, with the right
# bytes (`timeout`: a read that waits forever fails the test). With
# 16 MiB, late reads are certain; one of them leaving while a GET waited
# for room in a ring it held back once left every read waiting. With
# 4 MiB the kernel's read-ahead keeps all its reads (none is skipped for
# too many in flight, which left holes read later), and the read-ahead's
# GETs serve nearly all of them
for ra_kb in 4096 16384; do
  azb_mount $C "$N" "$AZB_CONN_CNT"
  echo $ra_kb >"/sys/class/bdi/$(mountpoint -d "$N")/read_ahead_kb"
  azb_cnt_reset
  n0=$(log_lines)
  eq "200 MiB read with $((ra_kb / 1024)) MiB kernel read-ahead" "$want" \
    "$(timeout 120 sha256sum "$N/big" | cut -d' ' -f1)"
  gets=$(azb_cnt_log | azb_json j.ops.GetBlob)
  if [ $ra_kb = 4096 ]; then
    shape=$(read_shape "$n0")
    ok "... in at most twice the Get Blob of its shape ($shape: $gets)" \
      test "$gets" -le $((2 * $(gets_of "$shape")))
  else
    echo "# ... in $gets Get Blob"
  fi
  azb_umount "$N" "$AZB_MOUNT_PID"
done
# every GET answer at 32 MiB/s, as from a distant service: four GETs at
# once bring the bytes about four times as fast as one, so the rest of
# the file comes in the wide shape
cnt="$CNT_PORT|$CNT_URL|$AZB_CONN_CNT"
azb_start_counter --conn-rate $((32 * 1024 * 1024))
azb_mount $C "$N" "$AZB_CONN_CNT"
n0=$(log_lines)
eq "200 MiB read at 32 MiB/s per connection" "$want" "$(sha "$N/big")"
eq "... in the wide shape" wide "$(read_shape "$n0")"
eq "... with 18 Get Blob" 18 "$(azb_cnt_log | azb_json j.ops.GetBlob)"
IFS='|' read -r CNT_PORT CNT_URL AZB_CONN_CNT <<<"$cnt" # the unpaced counter again
# a writer that stops writing but keeps the file open: every complete
# block still goes up in the background, `parallel` at a time (not only
# those started while it wrote), and the close sends nothing but the block list
azb_umount "$N" "$AZB_MOUNT_PID"
azb_mount $C "$N" "$AZB_CONN_CNT" "block_size=4,parallel=2"
azb_cnt_reset
# the writer: 64 MiB in 1 MiB writes, then it holds the file open (no
# flush, no close) until told to close it
hold='open(my $in, "<", $ARGV[0]) or die; open(my $f, ">", $ARGV[1]) or die "open: $!";
my $b; for (1 .. 64) { read($in, $b, 1 << 20) == 1 << 20 or die "short"; syswrite($f, $b) == 1 << 20 or die "write: $!" }
open(my $m, ">", $ARGV[2]) or die; close($m);
select(undef, undef, undef, 0.1) until -e $ARGV[3];
close($f) or die "close: $!"'
perl -e "$hold" "$L/big" "$N/held" "$AZB_TMP/written" "$AZB_TMP/go" &
hpid=$!
for ((i = 0; i < 150; i++)); do [ -e "$AZB_TMP/written" ] && break; sleep 0.1; done
# blocks: "PUT-BLOCKS BLOCK-LISTS" the server has seen
blocks() { azb_cnt_log | azb_json '(j.ops.PutBlock || 0) + " " + (j.ops.PutBlockList || 0)'; }
for ((i = 0; i < 150; i++)); do [ "$(blocks | cut -d' ' -f1)" -ge 16 ] && break; sleep 0.2; done
eq "64 MiB written, file still open: its 16 blocks went up" "16 0" \
  "$(blocks)"
# the staging file keeps the 64 MiB (on disk), but the page cache lets go
# of the blocks the server has: a GiB written costs no GiB of new memory
stage=$(ls "$AZB_TMP/cache-n"/stage-* | head -n 1)
resident() { fincore --bytes --noheadings --output RES "$stage"; }
for ((i = 0; i < 100; i++)); do [ "$(resident)" -le $((4 << 20)) ] && break; sleep 0.1; done
eq "... its staging file holds the 64 MiB" $((64 << 20)) "$(stat -c %s "$stage")"
eq "... of which at most one block stays in the page cache" yes \
  "$([ "$(resident)" -le $((4 << 20)) ] && echo yes || echo "no: $(resident) bytes")"
touch "$AZB_TMP/go"
wait $hpid
eq "... the close sent no block again, only the commit" "16 1" \
  "$(blocks)"
eq "... the bytes on the server" "$(head -c $((64 * 1024 * 1024)) "$L/big" | sha256sum | cut -d' ' -f1)" \
  "$(azb_sdk sha256 $C held)"
# with direct_io every read reaches the daemon (no page cache between):
# two readers of one file, one 50 MiB ahead of the other, and a reader
# that jumps 100 MiB back on its handle get every byte right
azb_umount "$N" "$AZB_MOUNT_PID"
azb_mount $C "$N" "$AZB_CONN_CNT" direct_io
tail -c +$((50 * 1024 * 1024 + 1)) "$L/big" | sha256sum | cut -d' ' -f1 >"$AZB_TMP/want2"
sha "$N/big" >"$AZB_TMP/r1" &
tail -c +$((50 * 1024 * 1024 + 1)) "$N/big" | sha256sum | cut -d' ' -f1 >"$AZB_TMP/r2"
wait $!
eq "two readers, 50 MiB apart" "$want $(cat "$AZB_TMP/want2")" "$(cat "$AZB_TMP/r1" "$AZB_TMP/r2" | tr '\n' ' ' | sed 's/ $//')"
jump='open(my $f, "<", $ARGV[0]) or die; binmode $f; my $b;
for (1 .. 150) { read($f, $b, 1 << 20) == 1 << 20 or die "short" }
seek($f, 50 << 20, 0) or die; read($f, $b, 3 << 20) == 3 << 20 or die "short"; print $b'
eq "a read 100 MiB back after 150 MiB on one handle" \
  "$(dd if="$L/big" bs=1M skip=50 count=3 status=none | sha256sum)" \
  "$(perl -e "$jump" "$N/big" | sha256sum)"
# a write-only handle bypasses the page cache (direct I/O): a reader that
# has the bytes cached sees the new ones at once, and so does the server
head -c $((1024 * 1024)) /dev/urandom >"$L/coh"
cp "$L/coh" "$M/coh"
coh='use Fcntl; my $b;
sysopen(my $r, $ARGV[0], O_RDONLY) or die "open: $!";
sysread($r, $b, 65536) == 65536 or die "short read";
sysopen(my $w, $ARGV[0], O_WRONLY) or die "open: $!";
sysseek($w, 8192, 0) or die; syswrite($w, "Z" x 4096) == 4096 or die "write: $!";
sysseek($r, 0, 0) or die; sysread($r, $b, 65536) == 65536 or die "short read";
close($w) or die "close: $!";
print substr($b, 8192, 4096) eq "Z" x 4096 ? "seen" : "stale"'
eq "a write-only handle's bytes, read through a cached reader" seen "$(perl -e "$coh" "$M/coh")"
printf '%4096s' '' | tr ' ' Z | dd of="$L/coh" bs=1 seek=8192 conv=notrunc status=none
eq "... and on the server" "$(sha "$L/coh")" "$(azb_sdk sha256 $C coh)"
# SDK upload read through the mount
head -c $((30 * 1024 * 1024 + 17)) /dev/urandom >"$L/odd"
azb_sdk put $C odd "$L/odd" >/dev/null
eq "odd-sized SDK blob read through the mount" "$(sha "$L/odd")" "$(sha "$M/odd")"
# append 1 MiB to the large blob: only the new bytes travel (the blob's
# committed blocks are kept; counted by the emulator proxy)
azb_start_copyemu
E="$AZB_TMP/e"
azb_mount $C "$E" "$AZB_CONN_EMU" "block_size=4,parallel=4"
head -c $((1024 * 1024)) /dev/urandom >"$L/one"
azb_emu_reset
cat "$L/one" >>"$E/big"
cat "$L/one" >>"$L/big"
sent=$(azb_emu_log | azb_json j.uploadBodyBytes)
ok "append 1 MiB to 200 MiB sends <= 2 MiB ($sent bytes)" test "$sent" -le $((2 * 1024 * 1024))
eq "append: content on the server" "$(sha "$L/big")" "$(azb_sdk sha256 $C big)"
eq "append: read back through the mount" "$(sha "$L/big")" "$(sha "$E/big")"
# a blob without a block list (one Put Blob) is appended to correctly too
cat "$L/one" >>"$E/odd"
cat "$L/one" >>"$L/odd"
eq "append to a single-shot blob" "$(sha "$L/odd")" "$(azb_sdk sha256 $C odd)"
# reading the server part and the staged tail before the close
eq "read across the append boundary while open" "$(tail -c 100 "$L/big" | head -c 50 | sha256sum)" \
  "$(exec 3>>"$E/big"; tail -c 100 "$E/big" | head -c 50 | sha256sum)"
# a file read again unchanged comes from the page cache: one Get Blob
# Properties (is it still the version read?), no Get Blob; rewritten by
# another client, even at once, or through the mount past the page cache
# (a write-only handle), it is read anew
P="$AZB_TMP/p"
azb_mount $C "$P" "$AZB_CONN_CNT"
head -c $((32 * 1024 * 1024)) /dev/urandom >"$L/pc"
azb_sdk put $C pc "$L/pc" >/dev/null
eq "32 MiB read through the mount" "$(sha "$L/pc")" "$(sha "$P/pc")"
# (under a parallel make check the kernel sometimes drops some or all of
# those pages anyway; then they are read anew, and a third read must show
# them kept: at least one of two rereads comes whole from the page cache)
reread() {
  azb_cnt_reset
  [ "$(sha "$P/pc")" = "$(sha "$L/pc")" ] || echo "bad bytes"
  azb_cnt_log | azb_json '`${j.ops.GetProperties || 0} ${j.ops.GetBlob || 0}`'
}
got=$(reread)
[ "$got" = "1 0" ] || got="$got, then $(reread)"
ok "read again: the same bytes, with one Get Blob Properties and no Get Blob ($got)" \
  test "${got##*, then }" = "1 0"
head -c $((32 * 1024 * 1024)) /dev/urandom >"$L/pc"
azb_sdk put $C pc "$L/pc" >/dev/null
eq "rewritten by another client, same size: the new bytes at once" "$(sha "$L/pc")" "$(sha "$P/pc")"
patch_both LOCAL 1000 "$P/pc" "$L/pc"
eq "patched through a write-only handle: the new bytes" "$(sha "$L/pc")" "$(sha "$P/pc")"
eq "... as on the server" "$(sha "$L/pc")" "$(azb_sdk sha256 $C pc)"
# small writes into a block of a file of several: the block's Put Block
# is still in flight when the next bytes come, and the server must end
# with all of them (two Put Block of one block id at once could leave it
# the older: one dd of 5 bytes lost some in 2 to 4 runs of 8 that way)
for k in 1 2 3 4 5 6 7 8; do
  patch_both PATCH $((k * 3 * 1024 * 1024 + k)) "$P/pc" "$L/pc"
done
eq "8 patches of 5 one-byte writes: all on the server" "$(sha "$L/pc")" "$(azb_sdk sha256 $C pc)"
eq "... and read back" "$(sha "$L/pc")" "$(sha "$P/pc")"
rm -f "$L/big" "$L/odd" "$L/pc"
azb_done

# t_basic.sh -- the filesystem with ordinary tools, checked from the other
# side with the @azure/storage-blob SDK.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=basic
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
azb_mount $C "$M"
L="$AZB_TMP/local"
mkdir -p "$L"

# write through the mount, read with the SDK
echo "hello azblobfs" >"$M/hello.txt"
eq "file written through the mount is on the server" "hello azblobfs" "$(azb_sdk get $C hello.txt -)"
eq "cat reads it back" "hello azblobfs" "$(cat "$M/hello.txt")"
eq "stat size" 15 "$(stat -c %s "$M/hello.txt")"
# write with the SDK, read through the mount
printf 'from the sdk' >"$L/s.txt"
azb_sdk put $C sdk/dir/s.txt "$L/s.txt" >/dev/null
eq "SDK blob readable through the mount" "from the sdk" "$(cat "$M/sdk/dir/s.txt")"
ok "virtual directories list" bash -c "ls '$M/sdk' | grep -qx dir"
ok "virtual directory stats as a directory" test -d "$M/sdk/dir"
# dd, ranges
dd if=/dev/urandom of="$L/r.bin" bs=1M count=20 status=none
dd if="$L/r.bin" of="$M/r.bin" bs=1M status=none
eq "dd 20 MiB in: sha256 on the server" "$(sha "$L/r.bin")" "$(azb_sdk sha256 $C r.bin)"
eq "dd a middle range out" "$(dd if="$L/r.bin" bs=4096 skip=1000 count=7 status=none | sha256sum)" \
  "$(dd if="$M/r.bin" bs=4096 skip=1000 count=7 status=none | sha256sum)"
# partial overwrite and append keep the rest
printf 'XYZ' | dd of="$M/hello.txt" bs=1 seek=6 conv=notrunc status=none
eq "partial overwrite" "hello XYZlobfs" "$(azb_sdk get $C hello.txt -)"
echo "more" >>"$M/hello.txt"
eq "append" "$(printf 'hello XYZlobfs\nmore')" "$(azb_sdk get $C hello.txt -)"
truncate -s 5 "$M/hello.txt"
eq "truncate shrinks" "hello" "$(azb_sdk get $C hello.txt -)"
truncate -s 0 "$M/hello.txt"
eq "truncate to zero" 0 "$(stat -c %s "$M/hello.txt")"
# cp -r a tree in and out
mkdir -p "$L/tree/a/b/c" "$L/tree/empty"
for i in 1 2 3 4 5; do head -c $((i * 7777)) /dev/urandom >"$L/tree/a/f$i"; done
head -c 100 /dev/urandom >"$L/tree/a/b/c/deep"
cp -r "$L/tree" "$M/tree"
cp -r "$M/tree" "$L/back"
eq "cp -r in and out: identical tree" "$(cd "$L/tree" && find . -type f -exec sha256sum {} + | sort)" \
  "$(cd "$L/back" && find . -type f -exec sha256sum {} + | sort)"
ok "empty directory survives the round trip" test -d "$L/back/empty"
eq "directory marker blob" "true" "$(azb_sdk props $C tree/empty | azb_json 'j.metadata.hdi_isfolder')"
# mkdir -p, rmdir, ENOTEMPTY
mkdir -p "$M/x/y/z"
ok "mkdir -p" test -d "$M/x/y/z"
ok "rmdir of a non-empty directory fails" fails_with "not empty" rmdir "$M/x"
rmdir "$M/x/y/z"
ok "rmdir removes" bash -c "! test -e '$M/x/y/z'"
# a dir/ marker written by another tool is a directory
azb_sdk putstr $C other/ "" >/dev/null
ok "a zero-length dir/ blob is a directory" test -d "$M/other"
# mv of files and directories
mv "$M/r.bin" "$M/r2.bin"
ok "mv file: old name gone" azb_absent $C r.bin
eq "mv file: content moved" "$(sha "$L/r.bin")" "$(azb_sdk sha256 $C r2.bin)"
mv "$M/tree" "$M/tree2"
eq "mv directory: every blob moved" "$(cd "$L/tree" && find . -type f -exec sha256sum {} + | sort)" \
  "$(cd "$M/tree2" && find . -type f -exec sha256sum {} + | sort)"
ok "mv directory: nothing left at the old prefix" azb_none $C tree/
# touch -d, ls -l times
touch -d "2001-02-03 04:05:06 UTC" "$M/r2.bin"
eq "touch -d sets mtime" "981173106" "$(stat -c %Y "$M/r2.bin")"
eq "mtime metadata in RFC 3339" "2001-02-03T04:05:06" "$(azb_sdk props $C r2.bin | azb_json 'j.metadata.mtime.slice(0,19)')"
touch "$M/new-empty"
eq "touch creates an empty blob" 0 "$(azb_sdk props $C new-empty | azb_json 'j.contentLength')"
# any create makes the blob before it returns: flock opens its lock file
# O_RDONLY|O_CREAT, and nothing it does later would carry it up
flock "$M/lockfile" true
eq "flock FILE: the O_RDONLY|O_CREAT file is on the server" 0 "$(azb_sdk props $C lockfile | azb_json 'j.contentLength')"
ok "flock FILE: ls lists it" bash -c "ls '$M' | grep -qx lockfile"
ok "flock FILE: rm removes it" rm "$M/lockfile"
ok "flock FILE: gone from the server" azb_absent $C lockfile
perl -e 'use Fcntl; sysopen(my $f, $ARGV[0], O_RDONLY | O_CREAT | O_EXCL) or die "$!\n";
  sysopen(my $g, $ARGV[0], O_RDONLY | O_CREAT | O_EXCL) and die "second create\n"; close($f)' "$M/excl-ro"
eq "O_RDONLY|O_CREAT|O_EXCL: on the server, a second one is EEXIST" 0 "$(azb_sdk props $C excl-ro | azb_json 'j.contentLength')"
ok "... and chmod finds it" chmod 0644 "$M/excl-ro"
# a writable create too: the blob is there while the file is still open,
# with the creator's mode, and its bytes go up over it at close
exec 5>"$M/held-open"
eq "O_WRONLY|O_CREAT: on the server before any close, with its mode" "0 100644" \
  "$(azb_sdk props $C held-open | azb_json '`${j.contentLength} ${j.metadata.mode}`')"
echo bytes >&5
exec 5>&-
eq "... and its bytes after the close" bytes "$(azb_sdk get $C held-open -)"
# a name removed while open and made anew is a new file
echo old >"$M/again.txt"
exec 4<"$M/again.txt"
rm "$M/again.txt"
echo new >"$M/again.txt"
exec 4<&-
eq "a file made anew while the removed one is open reaches the server" new "$(azb_sdk get $C again.txt -)"
# symlinks
ln -s "tree2/a/f1" "$M/link"
eq "readlink" "tree2/a/f1" "$(readlink "$M/link")"
eq "symlink metadata" "true" "$(azb_sdk props $C link | azb_json 'j.metadata.is_symlink')"
eq "reading through the symlink" "$(sha "$L/tree/a/f1")" "$(sha "$M/link")"
# user xattrs
setfattr -n user.color -v blue "$M/r2.bin"
eq "setfattr user.* is metadata" "blue" "$(azb_sdk props $C r2.bin | azb_json 'j.metadata.color')"
eq "getfattr user.*" "blue" "$(getfattr --only-values -n user.color "$M/r2.bin")"
ok "listxattr shows user metadata" bash -c "getfattr -d '$M/r2.bin' | grep -q user.color"
ok "listxattr shows user metadata only" lacks 'mtime\|azblob' getfattr -d "$M/r2.bin"
setfattr -x user.color "$M/r2.bin"
ok "removexattr" fails_with "No such attribute" getfattr -n user.color "$M/r2.bin"
ok "bad metadata name is EINVAL" fails_with "Invalid argument" setfattr -n "user.bad-name" -v x "$M/r2.bin"
eq "metadata survives a rewrite" "kept" "$(setfattr -n user.keep -v kept "$M/r2.bin"; echo new >"$M/r2.bin"; getfattr --only-values -n user.keep "$M/r2.bin")"
# rm -r
rm -r "$M/tree2"
ok "rm -r removes every blob" azb_none $C tree2
ok "stat of a missing file is ENOENT" fails_with "No such file" stat "$M/nope"
# 6000-entry directory: paging
mkdir -p "$L/many"
_azb_node -e "
const { BlobServiceClient } = require('@azure/storage-blob');
const c = BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient('$C');
(async () => { const all = []; for (let i = 0; i < 6000; i++) all.push(i);
  while (all.length) await Promise.all(all.splice(0, 200).map(i => c.getBlockBlobClient('many/f' + i).upload('x', 1)));
})().catch(e => { console.error(e.message); process.exit(1); });" 
eq "6000-entry directory lists completely" 6000 "$(ls "$M/many" | wc -l)"
eq "ls -l sizes from the listing" 6000 "$(ls -l "$M/many" | grep -c ' 1 ')"
# cold "ls -l" of a big directory: the listing alone, no HEAD per file
azb_start_counter
M3="$AZB_TMP/m3"
# (-o debug: libfuse logs every request the kernel sends)
azb_mount $C "$M3" "$AZB_CONN_CNT" debug
azb_cnt_reset
M3LOG="$AZB_TMP/mount-m3.log"
m3from=$(wc -l <"$M3LOG")
eq "cold ls -l through a fresh mount" 6001 "$(ls -l "$M3/many" | wc -l)"
# (the first List Blobs: the root's, which says what "many" is; then the
# two pages of "many/")
eq "cold ls -l: 3 List Blobs, no Get Blob Properties" "3 0" \
  "$(azb_cnt_log | azb_json '`${j.ops.ListBlobs} ${j.ops.GetProperties}`')"
# the listing hands the kernel every entry with its attributes (no LOOKUP
# per name), and ls learns once that SELinux labels and ACLs are not
# supported here (not two GETXATTR per file)
fuse_ops() { tail -n +"$((m3from + 1))" "$M3LOG" | grep -c "opcode: $1" || true; }
ok "cold ls -l of 6000 files: at most 3 LOOKUP and 4 GETXATTR sent by the kernel" \
  bash -c "[ $(fuse_ops LOOKUP) -le 3 ] && [ $(fuse_ops GETXATTR) -le 4 ] && [ $(fuse_ops READDIRPLUS) -ge 1 ]"
# entries served by offset: telldir/seekdir return to the same entry
# across READDIRPLUS requests, rewinddir lists anew (a file made after
# opendir shows)
eq "telldir/seekdir/rewinddir in a 6000-entry directory" "same 6002 6003" "$(perl -e '
  opendir(my $d, $ARGV[0]) or die "opendir: $!";
  scalar readdir($d) for 1 .. 3000;
  my $pos = telldir($d); my @a = map { scalar readdir($d) } 1 .. 5;
  scalar readdir($d) for 1 .. 1000;
  seekdir($d, $pos); my @b = map { scalar readdir($d) } 1 .. 5;
  my $n = 0; $n++ while defined readdir($d);
  open(my $f, ">", "$ARGV[0]/zz-new") or die "create: $!"; close($f);
  rewinddir($d); my $m = 0; $m++ while defined readdir($d);
  print join(",", @a) eq join(",", @b) ? "same" : "differ @a / @b", " ", 3005 + $n, " $m\n";' "$M3/many")"
rm -f "$M3/many/zz-new"
ok "security.* is not supported" fails_with "Operation not supported" getfattr -n security.selinux "$M3/many/f1"
ok "POSIX ACLs are not supported" fails_with "Operation not supported" getfattr -n system.posix_acl_access "$M3/many/f1"
ok "setting security.* is not supported" fails_with "Operation not supported" setfattr -n security.x -v 1 "$M3/many/f1"
eq "user.* still reads back" "v1" "$(setfattr -n user.k -v v1 "$M3/many/f1" && getfattr --only-values -n user.k "$M3/many/f1")"
azb_cnt_reset
eq "a small file is read with one Get Blob" "x 1" "$(cat "$M3/many/f17") $(azb_cnt_log | azb_json j.ops.GetBlob)"
# files created one after the other in a directory this mount never
# listed: once lookups there keep asking the server, each is one List
# Blobs of the name (not a List and a HEAD), so a new file costs its
# lookup besides its two Put Blobs (the create's empty blob, its bytes)
azb_sdk putstr $C loop/seed "s" >/dev/null
azb_cnt_reset
for i in $(seq 40); do echo "n$i" >"$M3/loop/f$i"; done
eq "40 new files in an unlisted directory: 80 Put Blob, at most 44 other requests" "80 yes" \
  "$(azb_cnt_log | azb_json '`${j.ops.PutBlob} ${Object.values(j.ops).reduce((a, b) => a + b, 0) - j.ops.PutBlob <= 44 ? "yes" : "no"}`')"
eq "the 40 files are on the server" 41 "$(azb_sdk list $C loop/ | wc -l)"
azb_cnt_reset
# (at most one: the create loop's listing of the directory may still
# answer it)
eq "a file looked up in a busy directory: at most one List Blobs, no HEAD" "s yes 0" \
  "$(cat "$M3/loop/seed") $(azb_cnt_log | azb_json '`${j.ops.ListBlobs <= 1 ? "yes" : "no"} ${j.ops.GetProperties || 0}`')"
# a listing never makes a name absent: a blob another client adds to a
# directory just listed in full shows at once
ls "$M3/loop" >/dev/null
azb_sdk putstr $C loop/late "from the SDK" >/dev/null
eq "a blob added by another client to a listed directory shows at once" \
  "from the SDK" "$(cat "$M3/loop/late")"
# ... and names that continue the looked-up one (sorted before "name/")
# do not hide a directory of that name
# (peek/: four of them; peek2/: more than one lookup's page holds)
_azb_node -e "
const { BlobServiceClient } = require('@azure/storage-blob');
const c = BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient('$C');
const names = ['peek/d 1', 'peek/d-1', 'peek/d.txt', 'peek/d+x', 'peek/d/inner', 'peek2/d/inner',
  'peek/both', 'peek/both/inner'];
for (let i = 0; i < 40; i++) names.push('peek2/d-' + String(i).padStart(2, '0'));
Promise.all(names.map(n => c.getBlockBlobClient(n).upload('inner', 5)))
  .catch(e => { console.error(e.message); process.exit(1); });"
for d in peek peek2; do
  stat "$M3/$d/zz" >/dev/null 2>&1 || true
  eq "$d: a directory behind names that continue its own" "inner" "$(cat "$M3/$d/d/inner")"
  ok "$d: ...is a directory" test -d "$M3/$d/d"
  ok "$d: ...and a name that only starts like it is absent" fails_with "No such file" stat "$M3/$d/d-"
done
ok "a blob and a directory of one name: the directory wins" test -d "$M3/peek/both"
ok "statfs" stat -f "$M"
# two mounts write the same file: the later commit loses with an error
# (If-Match on commit) and its data is kept, never a silent lost update
M2="$AZB_TMP/m2"
azb_mount $C "$M2"
echo "original" >"$M/conflict.txt"
out=$(perl -e '
  open(my $f, ">>", $ARGV[0]) or die "open: $!\n";
  syswrite($f, "from mount A\n") or die "write: $!\n";
  open(my $g, ">", $ARGV[1]) or die "open B: $!\n";
  syswrite($g, "from mount B\n") or die "write B: $!\n";
  close($g) or die "close B: $!\n";
  close($f) or print "close: $!\n";' "$M/conflict.txt" "$M2/conflict.txt" 2>&1)
eq "the losing writer's close reports the conflict" "close: Stale file handle" "$out"
eq "the winner's data stays on the server" "from mount B" "$(azb_sdk get $C conflict.txt -)"
ok "the loser's data is kept in its staging file" bash -c "grep -l 'from mount A' '$AZB_TMP'/cache-m/stage-* >/dev/null"
azb_done

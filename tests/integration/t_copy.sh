# t_copy.sh -- copy semantics: cp, mv and the copy xattr run on the server;
# status, progress and abort through xattrs. Mount A talks to Azurite
# directly (copies complete in the request); mount E goes through the
# async-copy emulator, where copies stay pending at a set rate and every
# request body the client sends is counted.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
azb_start_copyemu $((64 * 1024 * 1024))
C=copies
azb_sdk mkcontainer $C >/dev/null
A="$AZB_TMP/a"
E="$AZB_TMP/e"
azb_mount $C "$A"
azb_mount $C "$E" "$AZB_CONN_EMU"
L="$AZB_TMP/local"
mkdir -p "$L" "$AZB_TMP/files"
log() { azb_emu_log | azb_json "$1"; }

# ---- cp is one Copy Blob, no bytes through the client ----
head -c $((64 * 1024 * 1024)) /dev/urandom >"$L/src64"
azb_sdk put $C src64 "$L/src64" >/dev/null
azb_emu_reset
cp "$E/src64" "$E/dst64"
eq "cp: one Copy Blob" 1 "$(log j.ops.CopyBlob)"
eq "cp: no Put Blob/Block but the destination's empty create" "1 0" "$(log '`${j.ops.PutBlob} ${j.ops.PutBlock}`')"
ok "cp: client sent < 64 KiB of bodies" test "$(log j.uploadBodyBytes)" -lt 65536
eq "cp: destination content identical (SDK)" "$(sha "$L/src64")" "$(azb_sdk sha256 $C dst64)"
eq "cp: copy_status" success "$(getfattr --only-values -n user.azblob.copy_status "$E/dst64")"
eq "cp: copy_progress" "67108864/67108864" "$(getfattr --only-values -n user.azblob.copy_progress "$E/dst64")"
ok "cp: copy_id present" test -n "$(getfattr --only-values -n user.azblob.copy_id "$E/dst64")"
ok "cp: copy_source names the source" bash -c "getfattr --only-values -n user.azblob.copy_source '$E/dst64' | grep -q '/copies/src64\$'"
ok "cp: copy_completion_time present" test -n "$(getfattr --only-values -n user.azblob.copy_completion_time "$E/dst64")"
ok "plain file: copy_status is ENODATA" fails_with "No such attribute" getfattr -n user.azblob.copy_status "$E/src64"
# cp onto an existing destination, cp -p, cp -a, cp -r (direct Azurite)
echo "old content that is longer" >"$A/existing"
cp "$A/src64" "$A/existing"
eq "cp onto an existing file" "$(sha "$L/src64")" "$(azb_sdk sha256 $C existing)"
setfattr -n user.owner -v alice "$A/src64"
touch -d "2003-04-05 06:07:08 UTC" "$A/src64"
cp -p "$A/src64" "$A/cp-p"
eq "cp -p keeps mtime" "$(stat -c %Y "$A/src64")" "$(stat -c %Y "$A/cp-p")"
cp -a "$A/src64" "$A/cp-a"
eq "cp -a keeps user xattrs" alice "$(getfattr --only-values -n user.owner "$A/cp-a")"
eq "cp -a content" "$(sha "$L/src64")" "$(azb_sdk sha256 $C cp-a)"
mkdir -p "$A/tree/sub"
echo one >"$A/tree/one"
echo two >"$A/tree/sub/two"
cp -r "$A/tree" "$A/tree-copy"
eq "cp -r" "two" "$(cat "$A/tree-copy/sub/two")"
# a dirty source is flushed first; small files too
printf 'fresh' >"$A/small"
cp "$A/small" "$A/small2"
eq "small file copy" fresh "$(azb_sdk get $C small2 -)"
# ---- copy=async returns at once; status from pending to success ----
azb_emu_rate $((512 * 1024))
head -c $((8 * 1024 * 1024)) /dev/urandom >"$L/src8"
azb_sdk put $C src8 "$L/src8" >/dev/null
azb_umount "$E" "$AZB_MOUNT_PID"
azb_mount $C "$E" "$AZB_CONN_EMU" "copy=async"
cp "$E/src8" "$E/async8"
eq "copy=async: cp returns while pending" pending "$(getfattr --only-values -n user.azblob.copy_status "$E/async8")"
prog=$(getfattr --only-values -n user.azblob.copy_progress "$E/async8")
ok "pending progress is BYTES/8388608 ($prog)" bash -c "[[ '$prog' =~ ^[0-9]+/8388608$ ]]"
eq "stat shows the total size while pending" 8388608 "$(stat -c %s "$E/async8")"
ok "write to a pending destination is EBUSY" fails_with "busy" bash -c "echo x >> '$E/async8'"
ok "truncate of a pending destination is EBUSY" fails_with "busy" truncate -s 0 "$E/async8"
eq "read waits for the copy, then serves the data" "$(sha "$L/src8")" "$(sha "$E/async8")"
eq "status after the copy" success "$(getfattr --only-values -n user.azblob.copy_status "$E/async8")"
# ---- rm of a pending copy aborts it ----
azb_emu_rate $((256 * 1024))
cp "$E/src8" "$E/doomed"
id=$(getfattr --only-values -n user.azblob.copy_id "$E/doomed")
azb_emu_reset
rm "$E/doomed"
eq "rm sends Abort Copy Blob with the copy id" "$id 204" "$(log '`${j.aborts[0].id} ${j.aborts[0].result}`')"
eq "then deletes the blob" 404 "$(azb_sdk props $C doomed >/dev/null 2>&1; echo $((404)))"
ok "blob gone on the server" azb_absent $C doomed
# rm -r covers every pending file
mkdir "$E/pend"
for i in 1 2 3; do cp "$E/src8" "$E/pend/c$i"; done
azb_emu_reset
rm -r "$E/pend"
eq "rm -r aborts every pending copy" 3 "$(log j.aborts.length)"
ok "rm -r removed everything" azb_none $C pend/
# ---- a copy started by the SDK, watched and aborted through the mount ----
touch "$A/sdkdst"
sid=$(azb_sdk_emu startcopy $C sdkdst "$EMU_URL/$C/src8")
eq "SDK copy seen as pending" pending "$(getfattr --only-values -n user.azblob.copy_status "$E/sdkdst")"
eq "SDK copy id seen" "$sid" "$(getfattr --only-values -n user.azblob.copy_id "$E/sdkdst")"
# ---- remount in the middle of a pending copy ----
azb_umount "$E" "$AZB_MOUNT_PID"
azb_mount $C "$E" "$AZB_CONN_EMU" "copy=async"
eq "after a remount: still pending" pending "$(getfattr --only-values -n user.azblob.copy_status "$E/sdkdst")"
azb_emu_reset
rm "$E/sdkdst"
eq "after a remount: rm aborts the SDK's copy" "$sid" "$(log 'j.aborts[0].id')"
# ---- the copy xattr ----
head -c 300000 /dev/urandom >"$AZB_TMP/files/ext.bin"
azb_start_httpfiles "$AZB_TMP/files" secret123
touch "$E/fromurl"
setfattr -n user.azblob.copy_source -v "http://127.0.0.1:$FILES_PORT/ext.bin?sv=1&sig=secret123" "$E/fromurl"
src=$(getfattr --only-values -n user.azblob.copy_source "$E/fromurl")
eq "copy_source has sig redacted" "http://127.0.0.1:$FILES_PORT/ext.bin?sv=1&sig=REDACTED" "$src"
ok "no secret in the xattr" lacks secret123 getfattr -n user.azblob.copy_source "$E/fromurl"
azb_emu_rate $((64 * 1024 * 1024))
for i in $(seq 100); do
  [ "$(getfattr --only-values -n user.azblob.copy_status "$E/fromurl")" = success ] && break
  sleep 0.1
done
eq "URL copy content" "$(sha "$AZB_TMP/files/ext.bin")" "$(azb_sdk sha256 $C fromurl)"
touch "$E/inmount"
setfattr -n user.azblob.copy_source -v "/src8" "$E/inmount"
for i in $(seq 100); do
  [ "$(getfattr --only-values -n user.azblob.copy_status "$E/inmount")" = success ] && break
  sleep 0.1
done
eq "in-mount path copy" "$(sha "$L/src8")" "$(azb_sdk sha256 $C inmount)"
ok "malformed source is EINVAL" fails_with "Invalid argument" setfattr -n user.azblob.copy_source -v "not a url" "$E/inmount"
ok "missing source is ENOENT" fails_with "No such file" setfattr -n user.azblob.copy_source -v "http://127.0.0.1:$FILES_PORT/none.bin?sig=secret123" "$E/inmount"
ok "denied source (wrong SAS signature) is EACCES" fails_with "Permission denied" setfattr -n user.azblob.copy_source -v "http://127.0.0.1:$FILES_PORT/ext.bin?sig=wrong" "$E/inmount"
ok "missing in-mount source is ENOENT" fails_with "No such file" setfattr -n user.azblob.copy_source -v "/nope" "$E/inmount"
ok "destination must exist" fails_with "No such file" setfattr -n user.azblob.copy_source -v "/src8" "$E/notyet"
azb_emu_rate $((128 * 1024))
setfattr -n user.azblob.copy_source -v "/src8" "$E/inmount"
ok "a second copy onto a pending file is EBUSY" fails_with "busy" setfattr -n user.azblob.copy_source -v "/src8" "$E/inmount"
rm "$E/inmount"
azb_emu_rate $((64 * 1024 * 1024))
# ---- read-only and read-write properties ----
ok "etag readable" bash -c "getfattr --only-values -n user.azblob.etag '$A/src8' | grep -q '^\"'"
eq "blob_type" BlockBlob "$(getfattr --only-values -n user.azblob.blob_type "$A/src8")"
ok "last_modified" bash -c "getfattr --only-values -n user.azblob.last_modified '$A/src8' | grep -q GMT"
ok "etag is read-only" fails_with "not permitted" setfattr -n user.azblob.etag -v x "$A/src8"
setfattr -n user.azblob.content_type -v "text/x-test" "$A/src8"
eq "content_type read-write" "text/x-test" "$(azb_sdk props $C src8 | azb_json j.contentType)"
setfattr -n user.azblob.access_tier -v Cool "$A/src8"
eq "access_tier read-write" Cool "$(getfattr --only-values -n user.azblob.access_tier "$A/src8")"
ok "bad tier is EINVAL" fails_with "Invalid argument" setfattr -n user.azblob.access_tier -v Lukewarm "$A/src8"
ok "listxattr lists user metadata only" lacks azblob getfattr -d "$A/src8"
# ---- mv: Copy Blob + Delete, no bytes through the client ----
azb_emu_reset
mv "$E/src64" "$E/moved64"
eq "mv: one Copy Blob and one Delete" "1 1" "$(log '`${j.ops.CopyBlob} ${j.ops.Delete}`')"
ok "mv: no bytes uploaded" test "$(log j.uploadBodyBytes)" -lt 65536
eq "mv: content" "$(sha "$L/src64")" "$(azb_sdk sha256 $C moved64)"
ok "mv: source gone" azb_absent $C src64
# the source's ETag from the lookup is the copy's source condition: no
# Get Blob Properties of its own (counted in front of Azurite, where the
# copy completes in the request and needs no polling)
azb_start_counter
E_PID=$AZB_MOUNT_PID
N="$AZB_TMP/n"
azb_mount $C "$N" "$AZB_CONN_CNT"
stat "$N/moved64" >/dev/null
# (and the destination's absence, which its lookup asks the server for)
test ! -e "$N/moved64b"
azb_cnt_reset
mv "$N/moved64" "$N/moved64b"
eq "mv of a file just looked up: Copy Blob, Delete, no Get Blob Properties" "1 1 0" \
  "$(azb_cnt_log | azb_json '`${j.ops.CopyBlob} ${j.ops.Delete} ${j.ops.GetProperties || 0}`')"
eq "mv: content after the second move" "$(sha "$L/src64")" "$(azb_sdk sha256 $C moved64b)"
mv "$N/moved64b" "$N/moved64"
azb_umount "$N" "$AZB_MOUNT_PID"
AZB_MOUNT_PID=$E_PID
# ... and a stale one (another client rewrote the source since) costs a
# retry, never the old content
echo "one" >"$E/stale.txt"
stat "$E/stale.txt" >/dev/null
azb_sdk putstr $C stale.txt "two, from the SDK" >/dev/null
mv "$E/stale.txt" "$E/stale2.txt"
eq "mv of a source changed behind the mount's back moves the new content" \
  "two, from the SDK" "$(azb_sdk get $C stale2.txt -)"
ok "mv of a changed source: source gone" azb_absent $C stale.txt
mkdir -p "$E/mvdir/a/b"
for i in 1 2 3 4 5 6; do echo "f$i" >"$E/mvdir/a/f$i"; done
echo deep >"$E/mvdir/a/b/deep"
azb_emu_reset
mv "$E/mvdir" "$E/mvdir2"
eq "mv dir: every blob and marker copied on the server" 10 "$(log j.ops.CopyBlob)"
eq "mv dir: content" "deep" "$(cat "$E/mvdir2/a/b/deep")"
ok "mv dir: old prefix empty" azb_none $C mvdir/
# a failed copy leaves the source and mv reports the error
azb_emu_rate $((512 * 1024))
azb_umount "$E" "$AZB_MOUNT_PID"
azb_mount $C "$E" "$AZB_CONN_EMU"
(sleep 2; azb_sdk putstr $C src8 "changed under the copy" >/dev/null) &
changer=$!
ok "mv whose copy fails reports an error" fails_with "Input/output error" mv "$E/src8" "$E/src8-moved"
wait "$changer"
eq "the source is intact after the failed mv" "changed under the copy" "$(azb_sdk get $C src8 -)"
ok "no half-made destination is left" azb_absent $C src8-moved
# ---- anything but a whole-file copy is not a server copy: azblobfs
# answers EOPNOTSUPP and the kernel copies the bytes itself ----
printf 'abcdefghij' >"$A/part-src"
touch "$A/part-dst"
# copy_file_range(2) (x86_64 syscall 326) of 4 bytes from offset 3
out=$(perl -e '
  open(my $i, "<", $ARGV[0]) or die; open(my $o, "+<", $ARGV[1]) or die;
  seek($i, 3, 0);
  my $r = syscall(326, fileno($i), 0, fileno($o), 0, 4, 0);
  print $r < 0 ? "err=$!" : "copied=$r";' "$A/part-src" "$A/part-dst")
eq "partial copy_file_range copies the right bytes" "copied=4 defg" "$out $(cat "$A/part-dst")"
ok "...and it was no server copy" fails_with "No such attribute" getfattr -n user.azblob.copy_status "$A/part-dst"
# ---- a copy that fails while a reader waits: status, description, EIO ----
azb_emu_rate $((256 * 1024))
touch "$E/willfail"
setfattr -n user.azblob.copy_source -v "/moved64" "$E/willfail"
(set +e; cat "$E/willfail" >/dev/null 2>"$AZB_TMP/cat.err"; echo $? >"$AZB_TMP/cat.rc") &
reader=$!
sleep 1
azb_sdk putstr $C moved64 "changed source" >/dev/null
wait "$reader"
ok "a reader waiting on a copy that fails gets EIO" \
  bash -c "[ \"\$(cat '$AZB_TMP/cat.rc')\" != 0 ] && grep -q 'Input/output error' '$AZB_TMP/cat.err'"
eq "the copy ended failed" failed "$(getfattr --only-values -n user.azblob.copy_status "$E/willfail")"
ok "copy_status_description says why" bash -c "getfattr --only-values -n user.azblob.copy_status_description '$E/willfail' | grep -q SourceModified"
azb_emu_rate $((64 * 1024 * 1024))
# ---- a 5 GiB copy is one Copy Blob (the kernel caps one copy_file_range
# below 4 GiB; the second call is answered without a request) ----
azb_start_counter
P="$AZB_TMP/p"
azb_mount $C "$P" "$AZB_CONN_CNT" "copy_tier=Cool"
_azb_node -e "
const { BlobServiceClient } = require('@azure/storage-blob');
const c = BlobServiceClient.fromConnectionString(process.env.AZB_CONN).getContainerClient('$C');
(async () => { const b = c.getBlockBlobClient('five');
  const buf = Buffer.alloc(64 * 1024 * 1024, 7), id = Buffer.from('block-0000').toString('base64');
  await b.stageBlock(id, buf, buf.length);
  await b.commitBlockList(Array(81).fill(id));
})().catch(e => { console.error(e.message); process.exit(1); });"
eq "5 GiB source" 5435817984 "$(stat -c %s "$P/five")"
azb_cnt_reset
cp "$P/five" "$P/five-copy"
eq "5 GiB cp: exactly one Copy Blob" 1 "$(azb_cnt_log | azb_json j.ops.CopyBlob)"
ok "5 GiB cp: no file bytes sent" test "$(azb_cnt_log | azb_json j.uploadBodyBytes)" -lt 65536
eq "5 GiB cp: destination size" 5435817984 "$(azb_sdk props $C five-copy | azb_json j.contentLength)"
eq "copy_tier= is sent as x-ms-access-tier" Cool "$(getfattr --only-values -n user.azblob.access_tier "$P/five-copy")"
rm -f "$P/five" "$P/five-copy"
# cp over a file the mount has listed: the listing kept from before the
# copy must not bring its old size back (ls -l, then stat, showed 0)
azb_sdk putstr $C over/a "" >/dev/null
azb_sdk putstr $C over/src "copied bytes" >/dev/null
Q="$AZB_TMP/q"
azb_mount $C "$Q"
stat "$Q/over/a" >/dev/null
cp "$Q/over/src" "$Q/over/a"
ls -l "$Q/over" >/dev/null
eq "cp over a listed file: stat shows the copy's size" 12 "$(stat -c %s "$Q/over/a")"
eq "... and cat its bytes" "copied bytes" "$(cat "$Q/over/a")"
azb_done

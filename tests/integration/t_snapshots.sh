#!/usr/bin/env bash
# t_snapshots.sh -- snapshots and versions through the mount: taken with
# setfattr user.azblob.snapshot and by writing a path to the control
# directory's snapshot file, listed in /.azblobfs/snapshots/PATH/ with
# their sizes, read with cat, restored by cp as one server-side Copy Blob
# (bytes through the client counted by a counting proxy) with copy=sync
# and copy=async, used as the source of user.azblob.copy_source and of the
# copy file; the trees are read-only (EROFS) and a path without history is
# ENOENT. Versions through the async-copy emulator with versioning on
# (Azurite has none): listed in /.azblobfs/versions/PATH/, read, restored.
set -eu
. "$(dirname "$0")/lib.sh"
command -v setfattr >/dev/null || azb_die "setfattr missing: apt-get install attr"
azb_start_azurite
azb_start_counter
azb_start_copyemu 262144 # 256 KiB/s: a 1 MiB copy stays pending ~4 s
C=snaps
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
L="$AZB_TMP/local"
mkdir -p "$L"
head -c 1048576 /dev/urandom >"$L/v1"
head -c 700000 /dev/urandom >"$L/v2"
head -c 300000 /dev/urandom >"$L/v3"
azb_sdk put $C dir/file "$L/v1" >/dev/null
azb_sdk putstr $C other "no snapshots" >/dev/null
azb_mount $C "$M" "$AZB_CONN_CNT"
X="$M/.azblobfs"
S="$X/snapshots"
snaps() { azb_sdk listversions $C "$1" | azb_json 'j.filter((x) => x.snapshot && x.name === "'"$1"'").map((x) => x.snapshot).sort().join(" ")'; }

# ---- taking snapshots ----
ok "setfattr user.azblob.snapshot takes a snapshot" setfattr -n user.azblob.snapshot -v '' "$M/dir/file"
T1=$(snaps dir/file)
ok "... one snapshot on the server ($T1)" test -n "$T1" -a "$T1" = "${T1% *}"
ok "... the xattr is not listed" lacks 'azblob' getfattr -d -m - "$M/dir/file"
ok "... nor readable" fails_with "No such attribute" getfattr -n user.azblob.snapshot "$M/dir/file"
cp "$L/v2" "$M/dir/file"
echo /dir/file >"$X/snapshot"
T2=$(snaps dir/file)
T2=${T2#"$T1 "}
ok "a path written to snapshot takes a second one ($T2)" test -n "$T2" -a "$T2" != "$T1"
cp "$L/v3" "$M/dir/file"

# ---- listing ----
eq "ls snapshots/PATH/ lists them by the service's time" "$T1 $T2" \
  "$(ls "$S/dir/file/" | tr '\n' ' ' | sed 's/ $//')"
eq "... with their sizes" "1048576 700000" \
  "$(stat -c %s "$S/dir/file/$T1" "$S/dir/file/$T2" | tr '\n' ' ' | sed 's/ $//')"
eq "... as read-only regular files" "regular file 444" \
  "$(stat -c '%F %a' "$S/dir/file/$T1")"
eq "ls -l shows the sizes too" "1048576 700000" \
  "$(ls -l "$S/dir/file/" | awk 'NR > 1 { print $5 }' | tr '\n' ' ' | sed 's/ $//')"
eq "directories of the mount are directories in the tree" "file" "$(ls "$S/dir")"
ok "... and so are its files" test -d "$S/other"
eq "a file without snapshots is an empty directory" "" "$(ls "$S/other")"
ok "the tree's root mirrors the mount's without the control directory" lacks '^\.azblobfs$' ls -a "$S"
ok "a path that does not exist is ENOENT" fails_with "No such file" ls "$S/nope"
ok "... so is a snapshot time that is none" fails_with "No such file" \
  stat "$S/dir/file/2020-01-01T00:00:00.0000000Z"

# ---- reading ----
eq "cat of a snapshot gives its content after the base changed" "$(sha "$L/v1")" \
  "$(cat "$S/dir/file/$T1" | sha256sum | cut -d' ' -f1)"
eq "... the second one too" "$(sha "$L/v2")" "$(cat "$S/dir/file/$T2" | sha256sum | cut -d' ' -f1)"
eq "... as the SDK reads it" "$(sha "$L/v1")" "$(azb_sdk sha256 $C dir/file --snapshot "$T1")"

# ---- read-only ----
ok "writing a snapshot is EROFS" fails_with "Read-only file system" bash -c "echo x >'$S/dir/file/$T1'"
ok "touch of a snapshot is EROFS" fails_with "Read-only file system" touch "$S/dir/file/$T1"
ok "creating in the tree is EROFS" fails_with "Read-only file system" touch "$S/dir/file/new"
ok "rm of a snapshot is EROFS" fails_with "Read-only file system" rm -f "$S/dir/file/$T1"
ok "mkdir in the tree is EROFS" fails_with "Read-only file system" mkdir "$S/dir/new"
ok "mv in the tree is EROFS" fails_with "Read-only file system" mv "$S/dir/file/$T1" "$S/dir/file/x"
ok "truncate of a snapshot is EROFS" fails_with "Read-only file system" truncate -s 0 "$S/dir/file/$T1"
ok "chmod of a snapshot is EROFS" fails_with "Read-only file system" chmod 600 "$S/dir/file/$T1"
eq "the snapshots are all still there" "$T1 $T2" "$(snaps dir/file)"

# ---- restoring with cp: one Copy Blob, no file bytes ----
azb_cnt_reset
cp "$S/dir/file/$T1" "$M/dir/file"
eq "cp of a snapshot over its base: one Copy Blob" 1 "$(azb_cnt_log | azb_json j.ops.CopyBlob)"
ok "... no Get Blob" test "$(azb_cnt_log | azb_json 'j.ops.GetBlob || 0')" -eq 0
up=$(azb_cnt_log | azb_json j.uploadBodyBytes)
down=$(azb_cnt_log | azb_json j.downloadBodyBytes)
ok "... under 64 KiB through the client (sent $up, received $down)" test $((up + down)) -lt 65536
eq "... the base holds the snapshot's content (SDK)" "$(sha "$L/v1")" "$(azb_sdk sha256 $C dir/file)"
eq "... and shows it through the mount" "$(sha "$L/v1")" "$(sha "$M/dir/file")"
ok "... its copy source is the snapshot" bash -c \
  "getfattr --absolute-names --only-values -n user.azblob.copy_source '$M/dir/file' | grep -q 'dir/file?snapshot='"
eq "... the snapshots stay" "$T1 $T2" "$(snaps dir/file)"

# ---- the snapshot as the source of the copy xattr and the copy file ----
touch "$M/byxattr"
ok "user.azblob.copy_source takes a snapshot path" \
  setfattr -n user.azblob.copy_source -v "/.azblobfs/snapshots/dir/file/$T2" "$M/byxattr"
eq "... the copy holds the snapshot's content" "$(sha "$L/v2")" "$(azb_sdk sha256 $C byxattr)"
ok "... a missing snapshot is ENOENT" fails_with "No such file" \
  setfattr -n user.azblob.copy_source -v "/.azblobfs/snapshots/dir/file/2020-01-01T00:00:00Z" "$M/byxattr"
echo "/.azblobfs/snapshots/dir/file/$T2 /byline" >"$X/copy"
eq "a line of the copy file takes a snapshot path" "$(sha "$L/v2")" "$(azb_sdk sha256 $C byline)"

# ---- versions on an account without versioning ----
ok "versions/PATH/ of an account without versioning is an empty directory" \
  test -d "$X/versions/dir/file" -a -z "$(ls "$X/versions/dir/file")"
ok "versions/ of a missing path is ENOENT" fails_with "No such file" ls "$X/versions/nope"

# ---- copy=async: a restore that stays pending ----
A="$AZB_TMP/a"
azb_mount $C "$A" "$AZB_CONN_EMU" "copy=async"
t0=$(date +%s)
cp "$A/.azblobfs/snapshots/dir/file/$T2" "$A/dir/file"
ok "copy=async: cp of a snapshot returns while the copy is pending" test $(($(date +%s) - t0)) -lt 3
eq "... the copy status is pending" pending "$(getfattr --absolute-names --only-values -n user.azblob.copy_status "$A/dir/file")"
ok "... copies lists it from the snapshot" bash -c \
  "awk -F'\t' '\$4 == \"/dir/file\" { print \$1, \$6 }' '$A/.azblobfs/copies' | grep -q '^pending .*snapshot='"
ok "... status/PATH shows it" grep -q '^copy_status=pending' "$A/.azblobfs/status/dir/file"
for ((i = 0; i < 100; i++)); do
  [ "$(getfattr --absolute-names --only-values -n user.azblob.copy_status "$A/dir/file")" = pending ] || break
  sleep 0.2
done
eq "... it ends in success" success "$(getfattr --absolute-names --only-values -n user.azblob.copy_status "$A/dir/file")"
eq "... the base holds the snapshot's content" "$(sha "$L/v2")" "$(azb_sdk sha256 $C dir/file)"

# ---- versions (the emulator's versioning) ----
curl -sS --fail -o /dev/null -X POST "http://127.0.0.1:$EMU_PORT/__emu/versioning?on=1"
V="$A/.azblobfs/versions"
head -c 100000 /dev/urandom >"$L/w0"
head -c 150000 /dev/urandom >"$L/w1"
head -c 200000 /dev/urandom >"$L/w2"
head -c 250000 /dev/urandom >"$L/w3"
for w in w0 w1 w2 w3; do cp "$L/$w" "$A/vfile"; done
want=$(azb_sdk_emu listversions $C vfile | azb_json 'j.filter((x) => x.versionId && x.name === "vfile").map((x) => x.versionId).sort().join(" ")')
n=$(ls "$V/vfile" | wc -l)
ok "versions/PATH/ lists the versions after 3 overwrites ($n)" test "$n" -ge 3
eq "... named by the version ids the service lists" "$want" "$(ls "$V/vfile" | tr '\n' ' ' | sed 's/ $//')"
old=$(ls -l "$V/vfile" | awk '$5 == 100000 { print $NF }' | head -1)
ok "... the first content is one of them ($old)" test -n "$old"
eq "cat of an old version gives its content" "$(sha "$L/w0")" "$(cat "$V/vfile/$old" | sha256sum | cut -d' ' -f1)"
ok "writing a version is EROFS" fails_with "Read-only file system" bash -c "echo x >'$V/vfile/$old'"
ok "rm of a version is EROFS" fails_with "Read-only file system" rm -f "$V/vfile/$old"
azb_emu_reset
B="$AZB_TMP/b"
azb_mount $C "$B" "$AZB_CONN_EMU"
cp "$B/.azblobfs/versions/vfile/$old" "$B/vfile"
eq "cp of a version over its base: one Copy Blob from ?versionid=" "1 yes" \
  "$(azb_emu_log | azb_json '`${j.copies.length} ${/vfile\?versionid=/.test(j.copies[0].source) ? "yes" : "no"}`')"
eq "... the base holds the old content (SDK)" "$(sha "$L/w0")" "$(azb_sdk_emu sha256 $C vfile)"
rm "$B/vfile"
ok "a deleted file's versions stay listed" test "$(ls "$B/.azblobfs/versions/vfile" | wc -l)" -ge 4
ok "... and readable" bash -c "cmp -s '$L/w0' '$B/.azblobfs/versions/vfile/$old'"

azb_done

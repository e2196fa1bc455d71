# t_floors.sh -- each operation at its request floor. Against a distant
# service every request is a round trip, so the requests an operation
# makes are counted here by the passthrough proxy, per kind: a listing
# answers stat of the names it holds, a loop creating files costs one Put
# Blob per file after its first names, cp inside the mount one Copy Blob
# per file (no Get Blob, no Get Blob Properties per file), rm of a listed
# file one Delete Blob, mv of a directory one Copy Blob and one Delete
# Blob per blob, names in a directory made here no lookup. The bytes are
# checked with the SDK.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=floors
azb_sdk mkcontainer $C >/dev/null
azb_start_counter
M="$AZB_TMP/m"
azb_mount $C "$M" "$AZB_CONN_CNT"
N=40
# n OP...: the counts of the named operations since the last reset
n() { azb_cnt_log | azb_json "[$(printf 'j.ops.%s||0,' "$@")].join(' ')"; }

# ---- a loop creating files in a new directory ----
mkdir "$M/src"
azb_cnt_reset
for i in $(seq -w 1 $N); do echo "file $i" >"$M/src/f$i"; done
# (each create makes its empty blob before it returns; close puts the bytes)
eq "create $N files: two Put Blob each, the create and the bytes" $((2 * N)) "$(n PutBlob)"
ok "... and lookups only for the first names (at most 4 List, 4 HEAD)" bash -c \
  "read l h <<<'$(n ListBlobs GetProperties)'; [ \$l -le 4 ] && [ \$h -le 4 ]"
eq "... and the files hold their bytes" "file 17" "$(azb_sdk get $C src/f17 -)"

# ---- stat of every name through a fresh mount ----
M2="$AZB_TMP/m2"
azb_mount $C "$M2" "$AZB_CONN_CNT"
azb_cnt_reset
for i in $(seq -w 1 $N); do stat -c %s "$M2/src/f$i"; done >"$AZB_TMP/sizes"
eq "stat of $N names: the sizes" "$N" "$(grep -c '^8$' "$AZB_TMP/sizes")"
eq "stat of $N names: the root's and the directory's List Blobs, nothing else" "2 0 0" \
  "$(n ListBlobs GetProperties GetBlob)"

# ---- cp -r inside the mount ----
azb_cnt_reset
cp -r "$M2/src" "$M2/dst"
eq "cp -r of $N files: one Copy Blob each" $N "$(n CopyBlob)"
eq "... no byte through the client (no Get Blob; Put Blob: the directory and each empty create)" \
  "0 $((N + 1))" "$(n GetBlob PutBlob)"
ok "... under 64 KiB of request bodies sent" test "$(azb_cnt_log | azb_json j.uploadBodyBytes)" -lt 65536
ok "... no Get Blob Properties per file (at most 4: the first names' lookups)" bash -c \
  "[ $(n GetProperties) -le 4 ]"
eq "... the copies hold the bytes" "file 33" "$(azb_sdk get $C dst/f33 -)"

# ---- rm of listed files ----
sleep 1.1
ls "$M2/dst" >/dev/null
azb_cnt_reset
rm "$M2/dst/f01" "$M2/dst/f02" "$M2/dst/f03"
eq "rm of 3 listed files: 3 Delete Blob, no Get Blob Properties" "3 0" "$(n Delete GetProperties)"
ok "... gone from the server" azb_absent $C dst/f02

# ---- mv of a directory ----
ls "$M2/src" >/dev/null
azb_cnt_reset
mv "$M2/src" "$M2/moved"
eq "mv of a directory of $N files and its marker: one Copy Blob and one Delete each" \
  "$((N + 1)) $((N + 1))" "$(n CopyBlob Delete)"
ok "... no Get Blob Properties per file (at most 1)" bash -c "[ $(n GetProperties) -le 1 ]"
eq "... the moved files hold the bytes" "file 05" "$(azb_sdk get $C moved/f05 -)"
ok "... the sources are gone" azb_absent $C src/f05

# ---- rm -r ----
azb_cnt_reset
rm -r "$M2/moved"
# (no Get Blob Properties per file; a loaded machine, as CI's, may see
# the odd entry looked up anew, so a few are allowed and counted)
read -r dels heads <<<"$(n Delete GetProperties)"
ok "rm -r of $N files: one Delete Blob each and the marker's ($dels), no Get Blob Properties per file ($heads)" \
  test "$dels" -ge $((N + 1)) -a "$dels" -le $((N + 2)) -a "$heads" -le 3
eq "... nothing left on the server" "" "$(azb_sdk list $C moved/)"

# ---- names in directories the mount has just made (tar x, mkdir -p) ----
mkdir "$M/tx"
azb_cnt_reset
mkdir "$M/tx/a" "$M/tx/a/b"
echo x >"$M/tx/a/b/f"
# (a directory made here is empty: the names made in it during the next
# second need no lookup; a loaded machine may take longer than that for
# one of them)
read -r puts lists heads <<<"$(n PutBlob ListBlobs GetProperties)"
eq "mkdir of two nested new directories and a file in the last: four Put Blob" 4 "$puts"
ok "... and no lookup of the new names ($lists List, $heads HEAD; at most 2 in all)" \
  test $((lists + heads)) -le 2
eq "... the file holds its byte" "x" "$(azb_sdk get $C tx/a/b/f -)"

# ---- chmod and touch of what the mount just made or wrote ----
# (it knows the blob's whole metadata and ETag: no Get Blob Properties
# before the Set Blob Metadata; tar does this to every directory)
azb_cnt_reset
chmod 700 "$M/tx/a"
touch -d @1000000000 "$M/tx/a"
chmod 600 "$M/tx/a/b/f"
read -r sets heads <<<"$(n SetMetadata GetProperties)"
eq "chmod, touch of a directory made here and chmod of a file written here: three Set Blob Metadata" 3 "$sets"
eq "... and no Get Blob Properties" 0 "$heads"
eq "... the directory marker keeps its mode and mtime on the server" "mode=40700 mtime=1000000000" \
  "$(azb_sdk props $C tx/a | azb_json "'mode=' + j.metadata.mode + ' mtime=' + Math.floor(Date.parse(j.metadata.mtime) / 1000)")"
# another client changes the file's metadata: what the mount knew is
# stale, the chmod is refused once (If-Match), reads and keeps theirs
azb_sdk setmeta $C tx/a/b/f mode=100600 mtime=2001-09-09T01:46:40Z theirs=kept >/dev/null
azb_cnt_reset
chmod 640 "$M/tx/a/b/f"
read -r sets heads <<<"$(n SetMetadata GetProperties)"
eq "chmod after another client's change: two Set Blob Metadata, one Get Blob Properties" "2 1" "$sets $heads"
eq "... their metadata kept, the new mode set" "theirs=kept mode=100640" \
  "$(azb_sdk props $C tx/a/b/f | azb_json "'theirs=' + j.metadata.theirs + ' mode=' + j.metadata.mode")"
eq "... the file still holds its byte" "x" "$(azb_sdk get $C tx/a/b/f -)"

azb_done

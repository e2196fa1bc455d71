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
printf 'PATCH' | dd of="$M/big" bs=1 seek=$((150 * 1024 * 1024)) conv=notrunc status=none
printf 'PATCH' | dd of="$L/big" bs=1 seek=$((150 * 1024 * 1024)) conv=notrunc status=none
eq "a patch in the middle keeps the rest" "$(sha "$L/big")" "$(azb_sdk sha256 $C big)"
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
rm -f "$L/big" "$L/odd"
azb_done

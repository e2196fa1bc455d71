# t_attrs.sh -- POSIX attributes held in blob metadata, as tools use them:
# chmod +x, chown, tar x keeping modes, mkdir for another user, fifos and
# device nodes, hard links refused, a file removed while open, the mount
# options that override, and the keys rclone's --metadata uses, checked
# from the other side with the SDK and across a remount.
set -eu
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || azb_die "python3 missing: apt-get install python3"
azb_start_azurite
C=attrs
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
L="$AZB_TMP/local"
mkdir -p "$L"
chmod 0711 "$AZB_TMP" # another user reaches the mount point
azb_mount $C "$M" "$AZB_CONN" allow_other
meta() { azb_sdk props $C "$1" | azb_json "j.metadata.$2"; }
remount() { # umount and mount again with a new cache: what the server holds
  azb_umount "$M" "$AZB_MOUNT_PID"
  azb_mount $C "$M" "$AZB_CONN" "allow_other,cache_dir=$AZB_TMP/cache-again${1:-}"
}
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# ---- chmod, chown: stored, shown, kept across a remount ----
printf '#!/bin/sh\necho ran\n' >"$M/script.sh"
chmod +x "$M/script.sh"
eq "chmod +x: the mode on the server" 100755 "$(meta script.sh mode)"
chown 123:456 "$M/script.sh"
eq "chown: uid and gid on the server" "123 456" "$(meta script.sh uid) $(meta script.sh gid)"
echo data >"$M/plain"
chmod 0640 "$M/plain"
mkdir -m 0750 "$M/d750"
ln -s script.sh "$M/link"
remount 1
eq "after a remount: chmod +x kept" "755 123 456" "$(stat -c '%a %u %g' "$M/script.sh")"
eq "after a remount: the script runs" ran "$(chown 0:0 "$M/script.sh" && "$M/script.sh")"
eq "after a remount: chmod 0640 kept" 640 "$(stat -c %a "$M/plain")"
eq "after a remount: mkdir -m 0750 kept" "750 directory" "$(stat -c '%a %F' "$M/d750")"
eq "a symlink stays a symlink" "symbolic link script.sh" "$(stat -c %F "$M/link") $(readlink "$M/link")"

# ---- the kernel enforces them (default_permissions) ----
mkdir -m 0777 "$M/shared"
mkdir -m 0755 "$M/closed"
ok "another user creates in a 0777 directory" as_nobody sh -c "echo x >'$M/shared/by-nobody'"
eq "... and owns the file" "65534 65534" "$(stat -c '%u %g' "$M/shared/by-nobody")"
eq "... the server holds its uid" 65534 "$(meta shared/by-nobody uid)"
ok "another user cannot create in a 0755 directory" fails_with "Permission denied" \
  as_nobody sh -c "echo x >'$M/closed/nope'"
echo secret >"$M/closed/mine"
chmod 0600 "$M/closed/mine"
ok "another user cannot read a 0600 file" fails_with "Permission denied" as_nobody cat "$M/closed/mine"
ok "another user cannot chmod root's file" fails_with "Operation not permitted" as_nobody chmod 0777 "$M/plain"

# ---- tar x keeps modes, owners and times ----
mkdir -p "$L/tree/bin" "$L/tree/private"
printf 'a' >"$L/tree/bin/tool"
chmod 0751 "$L/tree/bin/tool"
printf 'b' >"$L/tree/private/key"
chmod 0400 "$L/tree/private/key"
chmod 0700 "$L/tree/private"
chown -R 1001:1002 "$L/tree"
touch -d '2001-02-03 04:05:06 UTC' "$L/tree/bin/tool"
tar -C "$L" -cf "$AZB_TMP/tree.tar" tree
tar -C "$M" --same-owner -xpf "$AZB_TMP/tree.tar"
remount 2
want=$(cd "$L/tree" && find . -printf '%p %m %U:%G %y\n' | sort)
eq "tar x: modes, owners and types as in the archive, after a remount" "$want" \
  "$(cd "$M/tree" && find . -printf '%p %m %U:%G %y\n' | sort)"
eq "tar x: the mtime kept" 981173106 "$(stat -c %Y "$M/tree/bin/tool")"

# ---- fifos, sockets, device nodes; hard links ----
mkfifo -m 0620 "$M/fifo"
eq "mkfifo: a fifo" "fifo 620" "$(stat -c '%F %a' "$M/fifo")"
eq "mkfifo: a zero-length blob with its mode" "0 10620" \
  "$(azb_sdk props $C fifo | azb_json 'j.contentLength + " " + j.metadata.mode')"
mknod "$M/null2" c 1 3
eq "mknod c 1 3: a character device 1,3" "character special file 1,3" "$(stat -c '%F %t,%T' "$M/null2")"
eq "mknod: rdev on the server, in hexadecimal" 103 "$(meta null2 rdev)"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$M/sock" 2>/dev/null ||
  python3 -c 'import os,stat,sys; os.mknod(sys.argv[1], 0o644 | stat.S_IFSOCK)' "$M/sock"
eq "a socket" socket "$(stat -c %F "$M/sock")"
ok "ln: hard links are refused with EPERM" fails_with "Operation not permitted" ln "$M/plain" "$M/hard"
ok "... and leave nothing" azb_absent $C hard

# ---- a file removed while open: read, written and fstat'd ----
printf 'still here' >"$M/open-gone"
out=$(python3 - "$M/open-gone" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.unlink(sys.argv[1])
print(os.pread(fd, 100, 0).decode(), os.fstat(fd).st_size, end=" ")
os.pwrite(fd, b"!", 10)
print(os.pread(fd, 100, 0).decode(), os.path.exists(sys.argv[1]))
os.close(fd)
PY
)
eq "removed while open: read, fstat and write go on" "still here 10 still here! False" "$out"
ok "... and the blob is gone at once" azb_absent $C open-gone
ok "... and stays gone after the close" bash -c "sleep 0.5; azb_absent $C open-gone"

# ---- a directory that exists only by its names gets a marker ----
azb_sdk putstr $C implicit/f x >/dev/null
chmod 0700 "$M/implicit"
eq "chmod of an implicit directory: a marker blob holds the mode" "true 40700" \
  "$(azb_sdk props $C implicit | azb_json 'j.metadata.hdi_isfolder + " " + j.metadata.mode')"

# ---- rclone's keys: what rclone --metadata reads from a local file ----
printf 'r' >"$L/rfile"
chmod 0741 "$L/rfile"
chown 77:88 "$L/rfile"
rmeta=$(rclone --config /dev/null lsjson --metadata "$L/rfile" | azb_json 'j[0].Metadata')
mode=$(echo "$rmeta" | azb_json .mode)
azb_sdk put $C fromrclone "$L/rfile" >/dev/null
azb_sdk setmeta $C fromrclone "mode=$mode" "uid=$(echo "$rmeta" | azb_json .uid)" \
  "gid=$(echo "$rmeta" | azb_json .gid)" >/dev/null
eq "a blob with rclone's metadata shows its mode and owner" "741 77 88" \
  "$(stat -c '%a %u %g' "$M/fromrclone")"
cp -p "$L/rfile" "$M/byus"
eq "... and the mount writes them as rclone does" "$mode 77 88" \
  "$(meta byus mode) $(meta byus uid) $(meta byus gid)"

# ---- explicit uid=, gid=, umask= override what is stored ----
M2="$AZB_TMP/m2"
azb_mount $C "$M2" "$AZB_CONN" "uid=4000,gid=5000,umask=027"
eq "uid=, gid=, umask= given: shown instead of the stored values" "640 4000 5000" \
  "$(stat -c '%a %u %g' "$M2/script.sh")"
chmod 0700 "$M2/plain"
eq "... chmod still stores" 100700 "$(meta plain mode)"

azb_done

# t_mount_fstab.sh -- azblobfs through mount(8): "mount -t fuse.azblobfs"
# and an fstab line (mount.fuse3 runs azblobfs from PATH, daemonized).
set -eu
. "$(dirname "$0")/lib.sh"
azb_machine_lock "$@"
command -v mount.fuse3 >/dev/null || azb_die "mount.fuse3 missing: apt-get install fuse3"
azb_start_azurite
C=fstab
azb_sdk mkcontainer $C >/dev/null
# mount(8) runs helpers with a fixed PATH: put the binary under test in
# /usr/local/bin for the duration of the test, restoring what was there.
# t_package.sh, which installs /usr/bin/azblobfs, takes turns with it.
inst=/usr/local/bin/azblobfs
if [ -e "$inst" ] || [ -L "$inst" ]; then
  mv "$inst" "$AZB_TMP/azblobfs.saved"
  azb_on_exit "mv -f '$AZB_TMP/azblobfs.saved' '$inst'"
else
  azb_on_exit "rm -f '$inst'"
fi
ln -s "$AZBLOBFS_BIN" "$inst"
cred=$(azb_credfile "$AZB_CONN")
M="$AZB_TMP/m"
mkdir -p "$M"
unmount_all() { mountpoint -q "$M" && umount "$M"; return 0; }
azb_on_exit unmount_all

mount -t fuse.azblobfs $C "$M" -o "credentials=$cred,cache_dir=$AZB_TMP/c1"
ok "mount -t fuse.azblobfs mounts" mountpoint -q "$M"
eq "it is an azblobfs mount" "fuse.azblobfs" "$(findmnt -n -o FSTYPE "$M")"
echo "via mount -t" >"$M/a.txt"
eq "written through it" "via mount -t" "$(azb_sdk get $C a.txt -)"
umount "$M"
ok "umount" bash -c "! mountpoint -q '$M'"

fstab="$AZB_TMP/fstab"
printf '%s  %s  fuse.azblobfs  _netdev,nofail,credentials=%s,cache_dir=%s  0 0\n' \
  "$C/sub" "$M" "$cred" "$AZB_TMP/c2" >"$fstab"
mount -T "$fstab" "$M"
ok "fstab line mounts (with a prefix)" mountpoint -q "$M"
echo "via fstab" >"$M/b.txt"
eq "prefix maps to the blob name" "via fstab" "$(azb_sdk get $C sub/b.txt -)"
ok "only the prefix is visible" bash -c "[ \"\$(ls '$M')\" = b.txt ]"
umount "$M"
gone() {
  local i
  for i in $(seq 50); do
    pgrep -f "azblobfs $C/sub" >/dev/null || return 0
    sleep 0.1
  done
  return 1
}
ok "daemon gone after umount" gone
azb_done

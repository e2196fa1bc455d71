# t_package.sh -- azblobfs as a system component: the Debian package, the
# systemd units, /etc/fstab at boot.
#
# Builds the package (make deb; AZB_DEB=FILE reuses one already built),
# checks it with lintian and dpkg-deb, installs it with apt-get, verifies
# its unit with systemd-analyze and what systemd-fstab-generator makes of an
# fstab line with x-systemd.automount,_netdev, mounts Azurite through a
# temporary /etc/fstab line with "mount -a" (mount.fuse3 runs the installed
# /usr/bin/azblobfs) and checks that cp there is one server-side Copy Blob,
# runs the unit's ExecStart= (azblobfs-service) with the unit's
# capabilities and NoNewPrivileges= through a crash, a restart and a stop,
# and purges the package. /etc/fstab is restored byte for byte, even on
# failure. It takes turns (a lock) with other runs of itself and with
# t_mount_fstab.sh, which also changes the machine.
set -eu
. "$(dirname "$0")/lib.sh"
azb_machine_lock "$@"
for tool in dpkg dpkg-deb apt-get systemd-analyze setpriv flock strace; do
  command -v "$tool" >/dev/null || azb_die "$tool missing: this test needs a Debian system with systemd and strace installed"
done
command -v lintian >/dev/null || azb_die "lintian missing: apt-get install lintian"
command -v mount.fuse3 >/dev/null || azb_die "mount.fuse3 missing: apt-get install fuse3"
GEN=/lib/systemd/system-generators/systemd-fstab-generator
[ -x "$GEN" ] || GEN=/usr/lib/systemd/system-generators/systemd-fstab-generator
[ -x "$GEN" ] || azb_die "systemd-fstab-generator missing: apt-get install systemd"
_azb_tmp

BUILDDIR=$(cd "$(dirname "$AZBLOBFS_BIN")" && pwd)
VERSION=$("$AZBLOBFS_BIN" --version | awk '{print $2}')
ARCH=$(dpkg --print-architecture)

# ---- the package: built here unless AZB_DEB names one
if [ -n "${AZB_DEB:-}" ]; then
  [ -f "$AZB_DEB" ] || azb_die "AZB_DEB=$AZB_DEB does not exist"
  DEB=$AZB_DEB
else
  [ -f "$BUILDDIR/Makefile" ] || azb_die "no Makefile in $BUILDDIR (the build directory of $AZBLOBFS_BIN): cannot make deb"
  mkdir -p "$AZB_TMP/deb"
  # the unit tests ran in make check already; a nested make must not join
  # the job server of a make check that runs this test
  if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
    DEB_BUILD_PROFILES=nocheck make -C "$BUILDDIR" deb DEB_OUTDIR="$AZB_TMP/deb" \
    >"$AZB_TMP/deb/build.log" 2>&1; then
    tail -n 40 "$AZB_TMP/deb/build.log" >&2
    azb_die "make deb failed (above: the end of its output)"
  fi
  debs=("$AZB_TMP"/deb/azblobfs_*.deb)
  [ -f "${debs[0]}" ] || azb_die "make deb made no package"
  DEB=${debs[0]}
fi
case "$(basename "$DEB")" in
"azblobfs_${VERSION}-"*"_$ARCH.deb") ok "package named azblobfs_VERSION_ARCH.deb ($(basename "$DEB"))" true ;;
*) ok "package named azblobfs_${VERSION}-N_$ARCH.deb, not $(basename "$DEB")" false ;;
esac

lintian_ok() {
  local out
  out=$(lintian --fail-on error "$DEB" 2>&1) && return 0
  printf '%s\n' "$out" | grep -v '^running with root' >&2
  return 1
}
ok "lintian reports no errors" lintian_ok

field() { dpkg-deb -f "$DEB" "$1"; }
depends=$(field Depends)
for dep in fuse3 libfuse3-3 libcurl4 libxml2 libssl3 libc6; do
  ok "Depends names $dep" bash -c "grep -q -E '(^|, )$dep( |,|\$)' <<<'$depends'"
done
eq "Architecture" "$ARCH" "$(field Architecture)"
dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./|/|' >"$AZB_TMP/contents"
for f in /usr/bin/azblobfs /usr/share/man/man1/azblobfs.1.gz /usr/share/doc/azblobfs/copyright \
  /usr/share/doc/azblobfs/README.gz /lib/systemd/system/azblobfs@.service \
  /usr/libexec/azblobfs/azblobfs-service; do
  ok "the package holds $f" grep -q -x -F "$f" "$AZB_TMP/contents"
done
# debian/copyright is COPYING in machine-readable form: the same license
mkdir -p "$AZB_TMP/x"
dpkg-deb -x "$DEB" "$AZB_TMP/x"
copyright="$AZB_TMP/x/usr/share/doc/azblobfs/copyright"
ok "copyright is machine-readable (DEP-5)" grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$copyright"
eq "copyright holds COPYING's license text" \
  "$(sed -n '/^Permission is hereby granted/,$p' "$AZB_TESTS_DIR/../COPYING")" \
  "$(sed -n '/^ Permission is hereby granted/,$p' "$copyright" | sed -e 's/^ //' -e 's/^\.$//')"

# ---- install it (and get rid of it at the end, whatever happens)
if dpkg-query -W -f='${Status}' azblobfs 2>/dev/null | grep -q ' installed$'; then
  have=$(dpkg-query -W -f='${Version}' azblobfs)
  [ "$have" = "$(field Version)" ] ||
    azb_die "azblobfs $have is installed; this test installs $(field Version) and purges it: dpkg --purge azblobfs first"
fi
# mount(8) looks in /usr/local/bin before /usr/bin: set aside what
# make install put there, so that the package's binary is the one run
if [ -e /usr/local/bin/azblobfs ] || [ -L /usr/local/bin/azblobfs ]; then
  mv /usr/local/bin/azblobfs "$AZB_TMP/local-azblobfs.saved"
  azb_on_exit "mv -f '$AZB_TMP/local-azblobfs.saved' /usr/local/bin/azblobfs"
fi
cp -p /etc/fstab "$AZB_TMP/fstab.saved"
restore_fstab() {
  cmp -s "$AZB_TMP/fstab.saved" /etc/fstab || cat "$AZB_TMP/fstab.saved" >/etc/fstab
}
azb_on_exit restore_fstab
purge_pkg() {
  dpkg-query -W -f='${Status}' azblobfs 2>/dev/null | grep -q ' installed$' || return 0
  dpkg --purge azblobfs >>"$AZB_TMP/dpkg.log" 2>&1
}
azb_on_exit purge_pkg
apt_install() {
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "$DEB" >"$AZB_TMP/apt.log" 2>&1 && return 0
  tail -n 20 "$AZB_TMP/apt.log" >&2
  return 1
}
ok "apt-get installs the package" apt_install
eq "dpkg: installed" "install ok installed" "$(dpkg-query -W -f='${Status}' azblobfs 2>&1)"
eq "azblobfs on PATH is the package's" /usr/bin/azblobfs "$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v azblobfs)"
eq "azblobfs --version" "azblobfs $VERSION" "$(/usr/bin/azblobfs --version)"
ok "man azblobfs finds the page" bash -c "man -w azblobfs | grep -q /usr/share/man/man1/azblobfs.1"

# ---- systemd: the unit, and what the generator makes of an fstab line
verify() { # UNIT : systemd-analyze verify says nothing (a warning is a failure)
  local out
  out=$(systemd-analyze verify "$1" 2>&1) || { echo "$out" >&2; return 1; }
  [ -z "$out" ] || { echo "$out" >&2; return 1; }
}
ok "systemd-analyze verify azblobfs@NAME.service" verify /lib/systemd/system/azblobfs@pkgtest.service
unit=/lib/systemd/system/azblobfs@.service
for line in Type=notify Restart=on-failure After=network-online.target Wants=network-online.target \
  NoNewPrivileges=yes WantedBy=remote-fs.target; do
  ok "unit: $line" grep -q -x -F "$line" "$unit"
done
# a mount namespace of its own would hide the mount from everyone else
ok "unit: no setting that gives the service a mount namespace" bash -c "! grep -E \
  '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|PrivateMounts|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectHostname|ProtectProc|ReadOnlyPaths|ReadWritePaths|InaccessiblePaths|TemporaryFileSystem|BindPaths|BindReadOnlyPaths|MountFlags|RootDirectory|RootImage)=' '$unit'"

mkdir -p "$AZB_TMP/gen/out"
printf '%s\n' "# made by t_package.sh" \
  "data/sub  /mnt/azb-data  fuse.azblobfs  _netdev,x-systemd.automount,x-systemd.idle-timeout=600,account=acct,credentials=/etc/azblobfs/acct.cred,allow_other  0 0" \
  "local  /mnt/azb-nonet  fuse.azblobfs  account=acct,credentials=/etc/azblobfs/acct.cred  0 0" \
  >"$AZB_TMP/gen/fstab"
SYSTEMD_FSTAB="$AZB_TMP/gen/fstab" "$GEN" "$AZB_TMP/gen/out" "$AZB_TMP/gen/out" "$AZB_TMP/gen/out" \
  >"$AZB_TMP/gen/log" 2>&1 || { cat "$AZB_TMP/gen/log" >&2; ok "systemd-fstab-generator runs" false; }
G="$AZB_TMP/gen/out"
ok "generator: mnt-azb\\x2ddata.mount and .automount" test -f "$G/mnt-azb\\x2ddata.mount" -a -f "$G/mnt-azb\\x2ddata.automount"
mnt_unit="$G/mnt-azb\\x2ddata.mount"
eq "generator: .mount What/Where/Type" "What=data/sub Where=/mnt/azb-data Type=fuse.azblobfs" \
  "$(grep -E '^(What|Where|Type)=' "$mnt_unit" | tr '\n' ' ' | sed 's/ $//')"
ok "generator: the options reach mount" grep -q -x -F \
  "Options=_netdev,x-systemd.automount,x-systemd.idle-timeout=600,account=acct,credentials=/etc/azblobfs/acct.cred,allow_other" "$mnt_unit"
ok "generator: _netdev orders it before remote-fs.target" grep -q -x 'Before=remote-fs.target' "$mnt_unit"
eq "generator: the automount is for /mnt/azb-data" "Where=/mnt/azb-data" \
  "$(grep '^Where=' "$G/mnt-azb\\x2ddata.automount")"
ok "generator: with _netdev the automount is pulled in by remote-fs.target" \
  test -L "$G/remote-fs.target.requires/mnt-azb\\x2ddata.automount"
ok "generator: without _netdev the line would be a local file system" \
  test -L "$G/local-fs.target.requires/mnt-azb\\x2dnonet.mount"

# ---- mount -a with an /etc/fstab line; cp in the mount is a Copy Blob
azb_start_azurite
azb_start_counter
C=pkgtest
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
mkdir -p "$M"
cred=$(azb_credfile "$AZB_CONN_CNT")
unmount_m() { mountpoint -q "$M" && umount "$M"; return 0; }
azb_on_exit unmount_m
# the mark keeps "mount -a" to this line whatever else /etc/fstab holds
mark="x-azblobfs-test=$$"
printf '%s  %s  fuse.azblobfs  _netdev,x-systemd.automount,%s,credentials=%s,cache_dir=%s,loglevel=debug  0 0\n' \
  "$C" "$M" "$mark" "$cred" "$AZB_TMP/cache-fstab" >>/etc/fstab
# what azblobfs says before it detaches reaches mount's stderr
log="$AZB_TMP/mount-fstab.log"
AZB_LOGS+=("$log")
ok "mount -a mounts the fstab line" mount -a -O "$mark" 2>>"$log"
ok "mounted" mountpoint -q "$M"
eq "mounted as fuse.azblobfs" fuse.azblobfs "$(findmnt -n -o FSTYPE "$M")"
restore_fstab
ok "/etc/fstab is as it was" cmp -s "$AZB_TMP/fstab.saved" /etc/fstab
pid=$(pgrep -f "azblobfs $C $M" | head -n 1 || true)
eq "the daemon runs /usr/bin/azblobfs" /usr/bin/azblobfs "$(readlink "/proc/${pid:-0}/exe" 2>/dev/null || echo none)"

head -c $((8 * 1024 * 1024)) /dev/urandom >"$AZB_TMP/src"
azb_sdk put $C src "$AZB_TMP/src" >/dev/null
azb_cnt_reset
cp "$M/src" "$M/dst"
cnt() { azb_cnt_log | azb_json "$1"; }
eq "cp: one Copy Blob" 1 "$(cnt 'j.ops.CopyBlob || 0')"
eq "cp: no Put Blob but the destination's empty create, no Put Block" "1 0" \
  "$(cnt '`${j.ops.PutBlob || 0} ${j.ops.PutBlock || 0}`')"
ok "cp: under 64 KiB of request bodies sent" test "$(cnt j.uploadBodyBytes)" -lt 65536
ok "cp: under 64 KiB of request bodies" test "$(cnt j.uploadBodyBytes)" -lt 65536
eq "cp: the copy has the source's bytes (SDK)" "$(sha "$AZB_TMP/src")" "$(azb_sdk sha256 $C dst)"
eq "cp: copy_status" success "$(getfattr --absolute-names --only-values -n user.azblob.copy_status "$M/dst")"
umount "$M"
ok "umount" bash -c "! mountpoint -q '$M'"
daemon_gone() {
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}
ok "the fstab mount's daemon exits after umount" daemon_gone "${pid:-0}"

# ---- the unit's seccomp and address family limits allow what a mount does:
# every system call and socket family of a traced mount (writes, reads,
# cp, mv, xattrs, listing, rm, then SIGTERM, which unmounts) is allowed
# by SystemCallFilter= and RestrictAddressFamilies=, and nothing maps
# memory writable and executable (MemoryDenyWriteExecute=)
# allowed_syscalls GROUP-OR-NAME... : the names, groups expanded
allowed_syscalls() {
  local todo=("$@") seen=" " g line
  while [ "${#todo[@]}" -gt 0 ]; do
    g=${todo[0]}
    todo=("${todo[@]:1}")
    case "$seen" in *" $g "*) continue ;; esac
    seen="$seen$g "
    case "$g" in
    @*)
      while read -r line; do
        case "$line" in "" | "#"*) ;; @*) todo+=("$line") ;; *) echo "$line" ;; esac
      done < <(systemd-analyze syscall-filter "$g" | sed 1d)
      ;;
    *) echo "$g" ;;
    esac
  done | sort -u
}
read -r -a filter <<<"$(sed -n 's/^SystemCallFilter=//p' "$unit")"
[ "${#filter[@]}" -gt 0 ] || azb_die "no SystemCallFilter= in $unit"
allowed_syscalls "${filter[@]}" >"$AZB_TMP/allowed"
T="$AZB_TMP/traced"
mkdir -p "$T"
strace -f -qq -o "$AZB_TMP/trace" /usr/bin/azblobfs $C "$T" -f \
  -o "credentials=$cred,cache_dir=$AZB_TMP/cache-trace,log=syslog" 2>>"$AZB_TMP/trace.err" &
tpid=$!
azb_on_exit "mountpoint -q '$T' && umount -l '$T'; kill -9 $tpid 2>/dev/null"
for ((i = 0; i < 100; i++)); do mountpoint -q "$T" && break; sleep 0.1; done
ok "traced mount is up" mountpoint -q "$T"
cp "$AZB_TMP/src" "$T/up"
ok "traced: the file reads back" cmp -s "$AZB_TMP/src" "$T/up"
cp "$T/up" "$T/up2"
mkdir "$T/d"
mv "$T/up2" "$T/d/"
echo more >>"$T/d/up2"
setfattr -n user.k -v v "$T/up"
getfattr --absolute-names -d "$T/up" >/dev/null
ls -lR "$T" >/dev/null
rm -r "$T/d" "$T/up"
# SIGTERM to the daemon itself (strace, its parent, does not pass it on)
dpid=$(pgrep -P "$tpid" -x azblobfs || true)
ok "traced: the daemon runs under strace" test -n "$dpid"
kill -TERM "${dpid:-$tpid}"
for ((i = 0; i < 100; i++)); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
{ kill -9 "$tpid" ${dpid:+"$dpid"} || true; wait "$tpid" || true; } 2>/dev/null
ok "traced mount ended by SIGTERM" bash -c "! mountpoint -q '$T'"
awk '$2 ~ /^[a-z0-9_]+\(/ { sub(/\(.*/, "", $2); print $2 }' "$AZB_TMP/trace" | sort -u >"$AZB_TMP/used"
ok "the trace holds mount, umount2, socket, openat ($(wc -l <"$AZB_TMP/used") system calls)" \
  bash -c "[ \"\$(grep -c -x -E 'mount|umount2|socket|openat' '$AZB_TMP/used')\" = 4 ]"
eq "every system call is allowed by SystemCallFilter=" "" "$(comm -23 "$AZB_TMP/used" "$AZB_TMP/allowed" | tr '\n' ' ')"
families=$(grep -o -E '\<socket(pair)?\(AF_[A-Z0-9]+' "$AZB_TMP/trace" | sed 's/.*(//' | sort -u | tr '\n' ' ')
allowed_af=" $(sed -n 's/^RestrictAddressFamilies=//p' "$unit") "
bad_af=""
for af in $families; do
  case "$allowed_af" in *" $af "*) ;; *) bad_af="$bad_af $af" ;; esac
done
eq "every socket family ($families) is allowed by RestrictAddressFamilies=" "" "$bad_af"
eq "no memory mapped writable and executable" "" \
  "$(grep -E '^[0-9]+ +(mmap|mprotect)\(' "$AZB_TMP/trace" | grep -E 'PROT_WRITE.*PROT_EXEC|PROT_EXEC.*PROT_WRITE|mprotect\(.*PROT_EXEC' | head -n 3)"

# ---- the unit's ExecStart= with the unit's limits: start, crash, restart, stop
SVC=/usr/libexec/azblobfs/azblobfs-service
S="$AZB_TMP/svc-mnt"
conf="$AZB_TMP/svc.conf"
printf '%s\n' "# a test mount" "container=$C" "mountpoint=$S" "options=credentials=$cred,loglevel=debug" >"$conf"
state="$AZB_TMP/state/azblobfs/svc"
mkdir -p "$state"
chmod 700 "$state"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr '[:upper:]' '[:lower:]' | sed -e 's/cap_//g' -e 's/ \+/,+/g')
[ -n "$caps" ] || azb_die "no CapabilityBoundingSet= in $unit"
# svc_start : azblobfs-service CONF as systemd would run it (bounding set,
# NoNewPrivileges, UMask, NOTIFY_SOCKET, STATE_DIRECTORY); sets SVC_PID
svc_start() {
  (
    umask 077
    exec setpriv --bounding-set "-all,+$caps" --inh-caps -all --no-new-privs \
      env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NOTIFY_SOCKET="$AZB_TMP/svc.sock" \
      STATE_DIRECTORY="$state" "$SVC" "$conf"
  ) >>"$AZB_TMP/svc.log" 2>&1 &
  SVC_PID=$!
}
svc_cleanup() {
  [ -z "${SVC_PID:-}" ] || kill -9 "$SVC_PID" 2>/dev/null
  mountpoint -q "$S" 2>/dev/null && umount -l "$S"
  findmnt -n --mountpoint "$S" >/dev/null 2>&1 && umount -l "$S"
  return 0
}
azb_on_exit svc_cleanup
wait_lines() { # FILE N
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
N="$AZB_TMP/svc.notify"
azb_notify_listen "$AZB_TMP/svc.sock" "$S" "$N"
svc_start
ok "service: READY=1 arrives" wait_lines "$N" 1
eq "service: READY=1 once the mountpoint is mounted" "READY=1"$'\t'mounted "$(sed -n 1p "$N")"
ok "service: the script became the daemon (MAINPID)" bash -c "[ \"\$(readlink /proc/$SVC_PID/exe)\" = /usr/bin/azblobfs ]"
cmdline=$(tr '\0' ' ' <"/proc/$SVC_PID/cmdline")
ok "service: logs to syslog (journald keeps the levels)" bash -c "[[ '$cmdline' == *'-o log=syslog,'* ]]"
ok "service: stages in STATE_DIRECTORY" bash -c "[[ '$cmdline' == *',cache_dir=$state'* ]]"
echo "through the service" >"$S/svc.txt"
eq "service: the mount works with CAP_SYS_ADMIN alone and no new privileges" \
  "through the service" "$(azb_sdk get $C svc.txt -)"

# a crash leaves a dead mount; starting again (Restart=on-failure) clears it
# (bash reports the kill of its job on stderr: not a test failure)
{ kill -9 "$SVC_PID" && wait "$SVC_PID"; } 2>/dev/null || true
ok "crash: the mountpoint is dead (ENOTCONN)" fails_with "not connected" stat "$S"
: >"$N"
svc_start
ok "restart: READY=1 again" wait_lines "$N" 1
eq "restart: mounted again over the dead mount" "through the service" "$(cat "$S/svc.txt" 2>&1)"
eq "restart: one mount, not two stacked" 1 "$(findmnt -n --mountpoint "$S" | wc -l)"

# ExecStop=: unmount, wait for the daemon, which exits 0
rc=0
MAINPID=$SVC_PID "$SVC" --stop "$conf" || rc=$?
eq "stop: azblobfs-service --stop exits 0" 0 "$rc"
ok "stop: the daemon is gone when it returns" bash -c "! kill -0 $SVC_PID 2>/dev/null"
rc=0
wait "$SVC_PID" || rc=$?
eq "stop: the daemon exited 0" 0 "$rc"
ok "stop: unmounted" bash -c "! mountpoint -q '$S'"
ok "stop: STOPPING=1 arrives" wait_lines "$N" 2
eq "stop: STOPPING=1 after READY=1" "STOPPING=1" "$(sed -n 2p "$N" | cut -f1)"
SVC_PID=""

# what a wrong configuration gets: exit 78 (no restart) and the reason
svc_err() { # EXPECTED-TEXT CONF-LINES...
  local want=$1 out rc=0
  shift
  printf '%s\n' "$@" >"$AZB_TMP/bad.conf"
  out=$("$SVC" "$AZB_TMP/bad.conf" 2>&1) || rc=$?
  [ "$rc" -eq 78 ] || { echo "  (exit $rc: $out)" >&2; return 1; }
  [[ "$out" == *"$want"* ]] || { echo "  (said: $out)" >&2; return 1; }
}
ok "config: unknown key" svc_err "unknown key 'mountpoin'" "container=$C" "mountpoin=$S"
ok "config: no container" svc_err "no container= line" "mountpoint=$S"
ok "config: relative mountpoint" svc_err "not an absolute path" "container=$C" "mountpoint=mnt"
ok "config: a line without =" svc_err "expected key=value" "container=$C" "mountpoint=$S" "allow_other"
ok "config: missing file" fails_with "does not exist" "$SVC" no-such-name-$$

# ---- purge: nothing of the package is left
purge_now() {
  dpkg --purge azblobfs >>"$AZB_TMP/dpkg.log" 2>&1 && return 0
  tail -n 20 "$AZB_TMP/dpkg.log" >&2
  return 1
}
ok "dpkg --purge" purge_now
ok "purged: /usr/bin/azblobfs is gone" test ! -e /usr/bin/azblobfs
ok "purged: the unit and the service script are gone" \
  test ! -e /lib/systemd/system/azblobfs@.service -a ! -e /usr/libexec/azblobfs
ok "purged: dpkg knows no azblobfs" bash -c "! dpkg-query -W -f='\${Status}' azblobfs 2>/dev/null | grep -q installed"
ok "/etc/fstab is as it was" cmp -s "$AZB_TMP/fstab.saved" /etc/fstab
azb_done

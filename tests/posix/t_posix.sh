# t_posix.sh -- the POSIX conformance suite. posixcheck (built by make
# check) runs first on a tmpfs, where every check must pass: that
# validates the suite itself. Then on a mount (allow_other, for the
# checks made as another user), where a check listed in LIMITS expects
# the error documented there instead. Then persistence: the setup phase
# makes files with chosen modes, owners, device numbers and times, flock
# creates one more, the SDK reads what reached the server, and after a
# remount with an empty cache the verify phase finds each as it was.
#
# Runs as root. POSIXCHECK names the program [next to AZBLOBFS_BIN].
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../integration/lib.sh"

POSIXCHECK=${POSIXCHECK:-$(dirname "$AZBLOBFS_BIN")/tests/posix/posixcheck}
LIMITS="$HERE/LIMITS"
[ -x "$POSIXCHECK" ] || azb_die "posixcheck not found at $POSIXCHECK: make check builds it (or set POSIXCHECK)"
[ "$(id -u)" -eq 0 ] || azb_die "t_posix.sh must run as root (checks as another user, mknod of devices)"
command -v flock >/dev/null || azb_die "flock missing: apt-get install util-linux"
[ -r "$LIMITS" ] || azb_die "$LIMITS missing"
umask 022

# how many checks each phase runs
N_CHECKS=$("$POSIXCHECK" --list | grep -c -v '^persist')
N_SETUP=$("$POSIXCHECK" --list | grep -c '^persist_setup\.')
N_VERIFY=$("$POSIXCHECK" --list | grep -c '^persist\.')

# posix_run LABEL WHAT COUNT ARGS... : runs posixcheck ARGS, one ok/not
# ok per line it prints, then one that it ran COUNT checks (WHAT) and
# that its exit status agrees with its lines
posix_run() {
  local label=$1 what=$2 count=$3 out rc=0 line n=0 failed=0
  shift 3
  out="$AZB_TMP/posixcheck.out"
  "$POSIXCHECK" "$@" >"$out" 2>"$out.err" || rc=$?
  while IFS= read -r line; do
    case "$line" in
    "PASS "*) n=$((n + 1)); ok "$label: ${line#PASS }" true ;;
    "FAIL cleanup: "*) failed=1; ok "$label: ${line#FAIL }" false ;;
    "FAIL "*) n=$((n + 1)); failed=1; ok "$label: ${line#FAIL }" false ;;
    *) ok "$label: a line posixcheck should not print: $line" false ;;
    esac
  done <"$out"
  [ "$rc" -le 1 ] || sed 's/^/  /' "$out.err" >&2
  eq "$label: $what: checks run, exit status" "$count, $failed" "$n, $rc"
}

# blob_attrs C NAME KEY... : "KEY=VALUE ..." of blob NAME as the SDK sees
# it; mode in octal, rdev in hex, mtime in epoch seconds, whatever way
# they are spelled; size is the blob's length; (none) for a key absent
blob_attrs() {
  local c=$1 name=$2 js
  shift 2
  js=$(azb_sdk props "$c" "$name" 2>&1) || { echo "no blob ($js)"; return 0; }
  printf '%s\n' "$js" | azb_json "(() => { const m = j.metadata, f = {
    mode: (v) => parseInt(v, 8).toString(8), uid: (v) => v, gid: (v) => v,
    rdev: (v) => parseInt(v.replace(/^0x/i, ''), 16).toString(16),
    mtime: (v) => String(Math.floor(Date.parse(v.replace(/[.][0-9]+/, '')) / 1000)) };
    return '$*'.split(' ').map((k) => k + '=' + (k === 'size' ? j.contentLength
      : (m[k] === undefined ? '(none)' : f[k](m[k])))).join(' '); })()"
}

azb_start_azurite

# ---- 1. tmpfs: the reference ----
T="$AZB_TMP/tmpfs"
mkdir -p "$T"
if mount -t tmpfs -o size=256m,mode=0755 azb-posix "$T" 2>/dev/null; then
  azb_on_exit "umount '$T'"
else
  rmdir "$T"
  T=$(mktemp -d /dev/shm/azb-posix.XXXXXX)
  chmod 755 "$T"
  azb_on_exit "rm -rf '$T'"
fi
posix_run tmpfs "all" "$N_CHECKS" "$T"
eq "tmpfs: posixcheck removed what it made" "" "$(ls -A "$T")"
posix_run tmpfs setup "$N_SETUP" --phase setup "$T"
flock "$T/persist/flocked" true
posix_run tmpfs verify "$N_VERIFY" --phase verify "$T"
rm -rf "$T/persist"

# still_mounted NEXT : the daemon must not have died; if it did, that
# fails, and a new one is mounted for NEXT. A dead daemon not yet
# reaped still answers kill -0, and stat may be answered from the
# kernel's cache: ask its state, and list the directory.
still_mounted() {
  local st
  st=$(ps -o stat= -p "$AZB_MOUNT_PID" 2>/dev/null) || st=Z
  if [ "${st#Z}" = "$st" ] && ls "$M/run" >/dev/null 2>&1; then
    return 0
  fi
  ok "mount: the daemon is still there for $1" false
  fusermount3 -uz "$M" 2>/dev/null || true
  azb_mount $C "$M" "" allow_other
}

# ---- 2. the mount ----
C=posix
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
M2="$AZB_TMP/m2"
# a daemon that died leaves its mount point unusable ("Transport endpoint
# is not connected"), which azb_umount does not see as a mount: detach
# both after the daemons are gone (exit commands run last first)
azb_on_exit "fusermount3 -uz '$M' 2>/dev/null; fusermount3 -uz '$M2' 2>/dev/null; true"
azb_mount $C "$M" "" allow_other
mkdir "$M/run"
# one run per group of checks: a daemon that dies is reported, and
# mounted again for the next group
for g in $("$POSIXCHECK" --list | grep -v '^persist' | cut -d. -f1 | uniq); do
  still_mounted "the $g checks"
  posix_run mount "$g.*" "$("$POSIXCHECK" --list | grep -c "^$g\\.")" --limits "$LIMITS" "$M/run" "$g.*"
done
eq "mount: posixcheck removed what it made" "" "$(ls -A "$M/run")"
eq "mount: nothing of posixcheck's left on the server" "" "$(azb_sdk list $C run/)"

# ---- 3. persistence across a remount, and on the server ----
still_mounted "the setup phase"
posix_run mount setup "$N_SETUP" --phase setup "$M/run"
# flock opens FILE O_RDONLY|O_CREAT and runs the command holding it open:
# the blob must be on the server by then
eq "flock: the blob is on the server while flock holds the file open" "size=0" \
  "$(flock "$M/run/persist/flocked" bash -c "$(declare -f blob_attrs); blob_attrs $C run/persist/flocked size" 2>&1)"
azb_umount "$M" "$AZB_MOUNT_PID"

P=run/persist
eq "sdk: file" "mode=100640 uid=1234 gid=5678 mtime=1000000000 size=8" \
  "$(blob_attrs $C $P/file mode uid gid mtime size)"
eq "sdk: dir" "mode=40750 uid=4321 gid=8765 mtime=1100000000" \
  "$(blob_attrs $C $P/dir mode uid gid mtime)"
eq "sdk: fifo" "mode=10620 uid=0 gid=0 size=0" "$(blob_attrs $C $P/fifo mode uid gid size)"
eq "sdk: socket" "mode=140600 size=0" "$(blob_attrs $C $P/sock mode size)"
eq "sdk: char device" "mode=20640 rdev=103 size=0" "$(blob_attrs $C $P/chr mode rdev size)"
eq "sdk: block device" "mode=60660 rdev=703 size=0" "$(blob_attrs $C $P/blk mode rdev size)"
eq "sdk: O_RDONLY|O_CREAT file" "mode=100604 uid=0 gid=0 size=0" \
  "$(blob_attrs $C $P/rdonly mode uid gid size)"
eq "sdk: O_CREAT|O_EXCL file never written" "mode=100600 size=0" \
  "$(blob_attrs $C $P/excl mode size)"
eq "sdk: setuid file" "mode=104755" "$(blob_attrs $C $P/suid mode)"
eq "sdk: symlink" "mode=120777 uid=2222 gid=3333" "$(blob_attrs $C $P/link mode uid gid)"
eq "sdk: renamed file" "mode=100600 uid=1111 gid=2222 mtime=1200000000" \
  "$(blob_attrs $C $P/renamed mode uid gid mtime)"
eq "sdk: file made by uid 65534" "mode=100640 uid=65534 gid=65534" \
  "$(blob_attrs $C $P/shared/byother mode uid gid)"
eq "sdk: file made by flock" "mode=100644 uid=0 gid=0 size=0" \
  "$(blob_attrs $C $P/flocked mode uid gid size)"

# a new mount point, so a new cache_dir: nothing is served from before
azb_mount $C "$M2" "" allow_other
posix_run mount-after-remount verify "$N_VERIFY" --phase verify "$M2/run"
ok "rm -rf of what the setup made" rm -rf "$M2/run/persist"
eq "nothing left on the server after rm -rf" "" "$(azb_sdk list $C run/persist)"

azb_done

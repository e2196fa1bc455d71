# t_notify.sh -- readiness for systemd's Type=notify. azblobfs sends READY=1
# to $NOTIFY_SOCKET once its mountpoint is mounted (in the foreground, and
# from the daemon after it detached), STOPPING=1 when it unmounts (umount,
# or SIGTERM), each once, and nothing when the mount fails; abstract
# socket names ('@') work as well as paths.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=notify
azb_sdk mkcontainer $C >/dev/null
cred=$(azb_credfile "$AZB_CONN")
NL=$'\n'
T=$'\t'

# wait_lines FILE N : waits (10 s at most) until FILE has N lines
wait_lines() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# gone MNT : waits (10 s at most) until MNT is no longer mounted
gone() {
  local i
  for ((i = 0; i < 100; i++)); do
    mountpoint -q "$1" || return 0
    sleep 0.1
  done
  return 1
}

# ---- in the foreground (what a unit runs): READY=1, then STOPPING=1 at umount
M="$AZB_TMP/fg"
N="$AZB_TMP/fg.notify"
azb_notify_listen "$AZB_TMP/fg.sock" "$M" "$N"
export NOTIFY_SOCKET="$AZB_TMP/fg.sock"
azb_mount $C "$M"
unset NOTIFY_SOCKET
ok "-f: READY=1 arrives" wait_lines "$N" 1
eq "-f: READY=1 once, sent while the mountpoint is mounted" "READY=1${T}mounted" "$(cat "$N")"
echo ready >"$M/f.txt"
eq "-f: the mount works" ready "$(azb_sdk get $C f.txt -)"
pid=$AZB_MOUNT_PID
fusermount3 -u "$M"
rc=0
wait "$pid" || rc=$?
azb_umount "$M" "$pid"
eq "-f: the daemon exits 0 after umount" 0 "$rc"
ok "-f: STOPPING=1 arrives at umount" wait_lines "$N" 2
eq "-f: READY=1, then STOPPING=1 after the unmount" \
  "READY=1${T}mounted${NL}STOPPING=1${T}unmounted" "$(cat "$N")"

# ---- SIGTERM (systemctl stop without ExecStop=), abstract socket:
# STOPPING=1, then unmounted
M="$AZB_TMP/term"
N="$AZB_TMP/term.notify"
mkdir -p "$M"
azb_notify_listen "@azblobfs-test-notify-$$" "$M" "$N"
log="$AZB_TMP/mount-term.log"
AZB_LOGS+=("$log")
NOTIFY_SOCKET="@azblobfs-test-notify-$$" "$AZBLOBFS_BIN" $C "$M" -f \
  -o "credentials=$cred,cache_dir=$AZB_TMP/cache-term,loglevel=debug" >>"$log" 2>&1 &
pid=$!
azb_on_exit "mountpoint -q '$M' && fusermount3 -uz '$M'; kill -9 $pid 2>/dev/null"
ok "abstract socket: READY=1 arrives" wait_lines "$N" 1
eq "abstract socket: READY=1 while mounted" "READY=1${T}mounted" "$(cat "$N")"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
eq "SIGTERM: the daemon exits 0 (a stop asked for)" 0 "$rc"
ok "SIGTERM: the mount is gone" gone "$M"
eq "SIGTERM: READY=1, then STOPPING=1" "READY=1 STOPPING=1" "$(cut -f1 "$N" | tr '\n' ' ' | sed 's/ $//')"

# ---- daemonized (mount -t, fstab): the daemon sends READY=1 after detaching
M="$AZB_TMP/bg"
N="$AZB_TMP/bg.notify"
mkdir -p "$M"
azb_notify_listen "$AZB_TMP/bg.sock" "$M" "$N"
log="$AZB_TMP/mount-bg.log"
AZB_LOGS+=("$log")
rc=0
NOTIFY_SOCKET="$AZB_TMP/bg.sock" "$AZBLOBFS_BIN" $C "$M" \
  -o "credentials=$cred,cache_dir=$AZB_TMP/cache-bg,loglevel=debug" >>"$log" 2>&1 || rc=$?
azb_on_exit "mountpoint -q '$M' && fusermount3 -uz '$M'"
eq "daemonized: the starting process exits 0" 0 "$rc"
ok "daemonized: mounted" mountpoint -q "$M"
ok "daemonized: READY=1 arrives" wait_lines "$N" 1
eq "daemonized: READY=1 while mounted" "READY=1${T}mounted" "$(cat "$N")"
fusermount3 -u "$M"
ok "daemonized: STOPPING=1 at umount" wait_lines "$N" 2
eq "daemonized: READY=1, then STOPPING=1" "READY=1 STOPPING=1" "$(cut -f1 "$N" | tr '\n' ' ' | sed 's/ $//')"

# ---- a mount that fails says nothing (the unit fails instead of starting)
M="$AZB_TMP/fail"
N="$AZB_TMP/fail.notify"
mkdir -p "$M"
azb_notify_listen "$AZB_TMP/fail.sock" "$M" "$N"
rc=0
NOTIFY_SOCKET="$AZB_TMP/fail.sock" "$AZBLOBFS_BIN" no-such-container "$M" -f \
  -o "credentials=$cred,cache_dir=$AZB_TMP/cache-fail" 2>"$AZB_TMP/fail.err" || rc=$?
eq "missing container: exit status 1" 1 "$rc"
ok "missing container: says so" grep -q "does not exist" "$AZB_TMP/fail.err"
sleep 0.3
eq "missing container: no datagram" "" "$(cat "$N")"
azb_done

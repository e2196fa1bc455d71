# t_async.sh -- upload=async: close returns once the data is durable in
# cache_dir and uploads run in the background. Reads see the new data at
# once, fsync waits for its file, a daemon killed before its uploads
# leaves them to the next mount, failures are retried and listed, a
# conflict is kept and shown, and the unmount waits for the queue.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=async
azb_sdk mkcontainer $C >/dev/null
L="$AZB_TMP/local"
mkdir -p "$L"
for i in 1 2 3 4 5; do head -c $((i * 300000)) /dev/urandom >"$L/f$i"; done
head -c $((20 * 1048576)) /dev/urandom >"$L/big"
uploads() { cat "$1/.azblobfs/uploads"; }
on_server() { # NAME LOCALFILE: the server has NAME with LOCALFILE's bytes
  [ "$(azb_sdk sha256 $C "$1" 2>/dev/null)" = "$(sha "$2")" ]
}
wait_for() { # SECONDS CMD...
  local t=$1 i
  shift
  for ((i = 0; i < t * 5; i++)); do "$@" && return 0; sleep 0.2; done
  return 1
}

# ---- a slow service: close returns, the uploads wait in the queue ----
# (each upload held 8 s by a proxy in front of Azurite)
AZB_CHAOS_ARGS="--stall-ms 8000" azb_start_chaos 0
M="$AZB_TMP/m"
azb_mount $C "$M" "$AZB_CONN_CHAOS" upload=async
azb_chaos_rate 1 stall "^PUT "
mkdir "$M/d"
for i in 1 2 3 4 5; do cp "$L/f$i" "$M/d/f$i"; done
ok "after close the uploads are queued" bash -c "[ \$(cat '$M/.azblobfs/uploads' | wc -l) -ge 1 ]"
eq "an uploads line: path, bytes, tries, last error" "$(printf '/d/f5\t1500000\t0\t')" \
  "$(uploads "$M" | grep '^/d/f5' || echo "(gone: $(uploads "$M" | tr '\n' ' '))")"
eq "reads through the mount see the new data at once" "$(sha "$L/f5")" "$(sha "$M/d/f5")"
eq "status/PATH says upload=pending" pending "$(sed -n 's/^upload=//p' "$M/.azblobfs/status/d/f5")"
ok "every file arrives with its bytes" wait_for 60 bash -c \
  "for i in 1 2 3 4 5; do [ \"\$(azb_sdk sha256 $C d/f\$i 2>/dev/null)\" = \"\$(sha256sum '$L/f'\$i | cut -d' ' -f1)\" ] || exit 1; done"
ok "... and the queue is empty" wait_for 10 bash -c "[ -z \"\$(cat '$M/.azblobfs/uploads')\" ]"
ok "... and the journal too" wait_for 10 bash -c "[ -z \"\$(ls '$AZB_TMP/cache-m/journal/' 2>/dev/null)\" ]"
# fsync waits for its file's upload
cat >"$AZB_TMP/fsync.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open(sys.argv[2], "rb").read())
os.fsync(fd)
print("fsynced")
os.close(fd)
PY
out=$(python3 "$AZB_TMP/fsync.py" "$M/synced" "$L/f3" && azb_sdk sha256 $C synced)
eq "fsync returns once its file is on the server" "fsynced $(sha "$L/f3")" "$(echo $out)"
# the unmount waits until every upload ended
cp "$L/big" "$M/last"
cp "$L/f4" "$M/last2"
# (through the proxy each PUT takes 8 s: the daemon needs more than the
# ten seconds azb_umount gives it)
PID1=$AZB_MOUNT_PID
fusermount3 -u "$M"
ok "the daemon exits after the unmount" wait_for 90 bash -c "! kill -0 $PID1 2>/dev/null"
azb_umount "$M" "$PID1"
azb_stop_chaos
ok "after the unmount every upload has ended" bash -c "on_server() { [ \"\$(azb_sdk sha256 $C \"\$1\")\" = \"\$(sha256sum \"\$2\" | cut -d' ' -f1)\" ]; }; on_server last '$L/big' && on_server last2 '$L/f4'"

# ---- a daemon killed before its uploads: the next mount uploads them ----
# the files are made (each create puts its empty blob), then every PUT is
# held a minute by a proxy, which forwards none once the daemon that sent
# it is gone
AZB_CHAOS_ARGS="--stall-ms 60000" azb_start_chaos 0
M2="$AZB_TMP/m2"
azb_mount $C "$M2" "$AZB_CONN_CHAOS" "upload=async,cache_dir=$AZB_TMP/cache-crash"
PID2=$AZB_MOUNT_PID
touch "$M2/crash1" "$M2/crash2"
azb_chaos_rate 1 stall "^PUT "
cp "$L/f2" "$M2/crash1"
cp "$L/big" "$M2/crash2"
ok "the journal holds both files" bash -c "[ \$(ls '$AZB_TMP/cache-crash/journal' | wc -l) -eq 2 ]"
kill -9 "$PID2" 2>/dev/null
{ wait "$PID2"; } 2>/dev/null || true
azb_stop_chaos
fusermount3 -uz "$M2" 2>/dev/null || true
eq "nothing but the empty creates reached the server before the kill" "0 0" \
  "$(azb_sdk props $C crash1 | azb_json .contentLength) $(azb_sdk props $C crash2 | azb_json .contentLength)"
M3="$AZB_TMP/m3"
azb_mount $C "$M3" "$AZB_CONN" "upload=async,cache_dir=$AZB_TMP/cache-crash"
ok "the next mount uploads what the killed one left (sha256)" wait_for 60 bash -c \
  "[ \"\$(azb_sdk sha256 $C crash1 2>/dev/null)\" = '$(sha "$L/f2")' ] && [ \"\$(azb_sdk sha256 $C crash2 2>/dev/null)\" = '$(sha "$L/big")' ]"
ok "... and clears its journal" wait_for 10 bash -c "[ -z \"\$(ls '$AZB_TMP/cache-crash/journal')\" ]"
ok "... which the log says" grep -q 'left by an earlier mount is queued' "$AZB_TMP/mount-m3.log"

# ---- failures are retried, listed meanwhile, never dropped ----
azb_start_chaos 0 503
M4="$AZB_TMP/m4"
azb_mount $C "$M4" "$AZB_CONN_CHAOS" "upload=async,retries=0"
touch "$M4/retried" # (its create is made before the faults begin)
azb_chaos_rate 1 503 "PUT" 3
cp "$L/f1" "$M4/retried"
ok "a failing upload is listed with its tries and error" wait_for 20 bash -c \
  "cat '$M4/.azblobfs/uploads' | awk -F'\t' '\$1 == \"/retried\" && \$3 >= 1 && \$4 != \"\" { f = 1 } END { exit !f }'"
ok "... and arrives once the service answers" wait_for 60 on_server retried "$L/f1"

# ---- a conflict cannot succeed: kept, logged, listed ----
azb_sdk putstr $C theirs "first" >/dev/null
# (a writer of its own: each close of a copy of a shell's fd, even for a
# redirection, is a flush that would queue the upload early)
mkfifo "$AZB_TMP/go"
/usr/bin/python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, b" and mine\n")
open(sys.argv[2], "w").close()
open(sys.argv[3]).read()
os.close(fd)' "$M4/theirs" "$AZB_TMP/written" "$AZB_TMP/go" &
WR=$!
wait_for 10 test -e "$AZB_TMP/written"
azb_sdk putstr $C theirs "changed by another client" >/dev/null
echo go >"$AZB_TMP/go"
wait "$WR"
ok "a conflicting upload stops with its error in uploads" wait_for 20 bash -c \
  "grep -q \$'^/theirs\t.*Stale' '$M4/.azblobfs/uploads'"
eq "the other client's data stays on the server" "changed by another client" "$(azb_sdk get $C theirs -)"
ok "... ours stays in cache_dir" bash -c "grep -l 'first and mine' '$AZB_TMP'/cache-m4/stage-* >/dev/null"
ok "... and the log says so" grep -q 'background upload of theirs stopped' "$AZB_TMP/mount-m4.log"
ok "azblobfs status exits 1 for a stuck upload" bash -c "! '$AZBLOBFS_BIN' status '$M4' >/dev/null"

azb_done

# t_concurrency.sh -- 16 writers/readers on different files and 8 readers
# of one file at once, for SOAK_SECONDS (default 30; make check-long runs
# t_soak.sh with minutes): no error, no deadlock (every loop finishes in
# time), identical bytes, and the daemon's memory stays bounded.
set -eu
. "$(dirname "$0")/lib.sh"
SECS=${SOAK_SECONDS:-30}
azb_start_azurite
C=concur
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
azb_mount $C "$M" "$AZB_CONN" "block_size=1,parallel=4"
L="$AZB_TMP/local"
mkdir -p "$L" "$M/w"
head -c $((24 * 1024 * 1024)) /dev/urandom >"$L/shared"
cp "$L/shared" "$M/shared"
want_shared=$(sha "$L/shared")
rss() { awk '/VmRSS/ { print $2 }' "/proc/$AZB_MOUNT_PID/status"; }

writer() { # I : write, read back, compare, until the deadline
  local i=$1 n=0 f="$M/w/f$1" src="$L/w$1"
  head -c $((100000 + i * 37171)) /dev/urandom >"$src"
  while [ "$(date +%s)" -lt "$END" ]; do
    cp "$src" "$f" || { echo "writer $i: cp failed"; return 1; }
    cmp -s "$src" "$f" || { echo "writer $i: content differs"; return 1; }
    n=$((n + 1))
  done
  echo "writer $i: $n rounds"
}
reader() { # I : read the shared file again and again
  local i=$1 n=0
  while [ "$(date +%s)" -lt "$END" ]; do
    [ "$(sha "$M/shared")" = "$want_shared" ] || { echo "reader $i: bad sha"; return 1; }
    n=$((n + 1))
  done
  echo "reader $i: $n rounds"
}

# warm up once so the baseline includes the pools and buffers
END=$(($(date +%s) + 2))
writer 0 >/dev/null 2>&1 || true
rss0=$(rss)
END=$(($(date +%s) + SECS))
pids=()
for i in $(seq 1 16); do writer "$i" >"$AZB_TMP/w$i.out" 2>&1 & pids+=($!); done
for i in $(seq 1 8); do reader "$i" >"$AZB_TMP/r$i.out" 2>&1 & pids+=($!); done
# memory in the middle of the run, to compare with the end
(sleep $((SECS / 2)); rss >"$AZB_TMP/rss.mid") &
# a deadlock shows as loops still running long after the deadline
deadline=$((SECS + 120))
fails=0
for p in "${pids[@]}"; do
  for ((t = 0; t < deadline * 10; t++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    fails=$((fails + 1))
    kill "$p" 2>/dev/null || true
  elif ! wait "$p"; then
    fails=$((fails + 1))
  fi
done
cat "$AZB_TMP"/w*.out "$AZB_TMP"/r*.out | sort | head -30
rss1=$(rss)
eq "all 24 loops finished in time without an error" 0 "$fails"
ok "every loop did work" lacks ': 0 rounds' cat "$AZB_TMP"/w*.out "$AZB_TMP"/r*.out
eq "the files on the server are the last versions written" "$(sha "$L/w5")" "$(azb_sdk sha256 $C w/f5)"
rssm=$(cat "$AZB_TMP/rss.mid")
echo "daemon RSS: ${rss0} KiB before, ${rssm} KiB halfway, ${rss1} KiB at the end"
ok "daemon memory bounded under 24 streams (${rss1} KiB < 256 MiB)" test "$rss1" -lt 262144
ok "daemon memory steady: the second half did not grow it by more than 25% (${rssm} -> ${rss1} KiB)" \
  test "$rss1" -le $((rssm + rssm / 4))
azb_done

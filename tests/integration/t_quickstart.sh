# t_quickstart.sh -- contrib/quickstart.sh, the first command of the README,
# runs to its end and shows the heart of the project: the instant cp, a
# copy pending with its progress growing, a copy aborted with rm and a
# snapshot restored with cp; --stop then leaves nothing behind. It uses
# the binary under test (AZBLOBFS_BIN) and installs nothing. The demo's
# mount points are fixed (/tmp/azblobfs-demo*): a running demo is stopped.
set -eu
. "$(dirname "$0")/lib.sh"
_azb_tmp
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$AZB_TMP/quickstart.out"
rc=0
AZBLOBFS_BIN=$AZBLOBFS_BIN timeout 600 bash "$ROOT/contrib/quickstart.sh" --no-install \
  </dev/null >"$OUT" 2>&1 || rc=$?
azb_on_exit "bash '$ROOT/contrib/quickstart.sh' --stop >/dev/null 2>&1 || true"
eq "quickstart.sh exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# /' "$OUT"
has() { grep -qF -- "$1" "$OUT"; }
ok "the instant cp: both files have one sha256" \
  test "$(grep -E '^[0-9a-f]{64}  (big|copy)\.bin$' "$OUT" | awk '{print $1}' | sort -u | wc -l)" = 1
ok "a copy shown pending" has 'user.azblob.copy_status="pending"'
progress=$(sed -n '/^== A copy that takes its time/,/^== /s/^user.azblob.copy_progress="\([0-9]*\)\/.*/\1/p' "$OUT")
ok "its progress grows between readings ($(echo $progress))" \
  test "$(echo "$progress" | head -n 1)" -lt "$(echo "$progress" | tail -n 1)"
ok "the copies file lists it pending" grep -qP '^pending\t[0-9]+/67108864\t' "$OUT"
ok "azblobfs status shows it, then its success" grep -qE '^copy success 64\.0 MiB/64\.0 MiB 100\.0%' "$OUT"
ok "the pending copy ends with the source's bytes" \
  test "$(grep -E '^[0-9a-f]{64}  (big|slow)\.bin$' "$OUT" | awk '{print $1}' | sort -u | wc -l)" = 1
ok "rm of a pending copy sends Abort Copy Blob" grep -qE '^Abort Copy Blob demo/doomed\.bin copyid=[0-9a-f-]+ \(HTTP 204\)' "$OUT"
ok "a snapshot is listed" grep -qE ' [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$OUT"
eq "cp of the snapshot restores the first version" "first version" "$(tail -n +"$(grep -n '^\$ cat notes.txt' "$OUT" | cut -d: -f1)" "$OUT" | sed -n 2p)"
bash "$ROOT/contrib/quickstart.sh" --stop >/dev/null 2>&1
ok "--stop unmounts both mounts" sh -c '! grep -q " /tmp/azblobfs-demo" /proc/self/mounts'
azb_done

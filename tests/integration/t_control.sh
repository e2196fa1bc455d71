# t_control.sh -- the control directory (/.azblobfs) with tools that only
# know files: copies started by writing a line, watched with cat, status
# of a path as key=value lines, copies another client started, snapshots,
# metrics read by Prometheus' own parser, the directory hidden from find,
# cp -r and rsync, control=NAME and control=off, and azblobfs status on a
# terminal and in a pipe. Against Azurite and the async-copy emulator.
set -eu
. "$(dirname "$0")/lib.sh"
# Debian's python3, which apt-get gives the Prometheus client library
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || azb_die "python3 missing: apt-get install python3"
"$PY" -c 'import prometheus_client' 2>/dev/null ||
  azb_die "the Prometheus client library is missing: apt-get install python3-prometheus-client"
command -v script >/dev/null || azb_die "script missing: apt-get install bsdutils"
azb_start_azurite
azb_start_copyemu 65536 # 64 KiB/s: a 1 MiB copy stays pending ~16 s
C=ctl
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
L="$AZB_TMP/local"
mkdir -p "$L"
head -c 1048576 /dev/urandom >"$L/big"
azb_sdk put $C src/big "$L/big" >/dev/null
azb_sdk putstr $C src/small "small source" >/dev/null
azb_mount $C "$M" "$AZB_CONN_EMU"
X="$M/.azblobfs"
col() { awk -F'\t' -v p="$1" -v c="$2" '$4 == p { print $c }' "$X/copies"; }

# ---- the directory: reachable by name, not listed ----
eq "ls of the control directory lists its entries" "copies copy metrics snapshot snapshots status uploads versions" \
  "$(ls "$X" | tr '\n' ' ' | sed 's/ $//')"
ok "the root's listing does not show it" lacks '^\.azblobfs$' ls -a "$M"
ok "find of the root never enters it" lacks azblobfs find "$M"
mkdir -p "$L/cpr" "$L/rs"
cp -r "$M/." "$L/cpr/"
ok "cp -r of the root never copies it" test ! -e "$L/cpr/.azblobfs"
rsync -a "$M/" "$L/rs/"
ok "rsync -a of the root never copies it" test ! -e "$L/rs/.azblobfs"
eq "copies has a header before any copy" \
  "$(printf 'status\tprogress\tpercent\tpath\tcopy_id\tsource\tcompletion_time\tdescription')" "$(cat "$X/copies")"
ok "nothing is created in it" fails_with "Operation not permitted" touch "$X/new"
ok "copies cannot be written" fails_with "Permission denied" bash -c "echo x >'$X/copies'"

# ---- a copy started by writing a line, watched, ending success ----
echo "/src/big /dst/big" >"$X/copy"
eq "a line written to copy starts a copy the emulator records" "1 $C/src/big" \
  "$(azb_emu_log | azb_json '`${j.copies.length} ${j.copies[0].source.split("/").slice(-3).join("/")}`')"
eq "copies: the copy is pending" pending "$(col /dst/big 1)"
p1=$(col /dst/big 2)
sleep 2
p2=$(col /dst/big 2)
ok "copies: its progress grows ($p1 -> $p2)" test "${p2%/*}" -gt "${p1%/*}"
eq "copies: the total is the source's size" 1048576 "${p2#*/}"
ok "copies: percent matches the progress" awk -v p="$(col /dst/big 3)" -v b="${p2%/*}" \
  'BEGIN { exit !(p + 0 >= b * 100 / 1048576 - 1) }'
eq "status/PATH: copy_status and progress while pending" "pending 1048576" \
  "$(sed -n 's/^copy_status=//p' "$X/status/dst/big") $(sed -n 's/^copy_progress=.*\///p' "$X/status/dst/big")"
ok "status/PATH: every key" bash -c "cut -d= -f1 '$X/status/dst/big' | tr '\n' ' ' | grep -qx 'copy_status copy_progress copy_id copy_source copy_completion_time copy_status_description etag blob_type last_modified access_tier content_type upload '"
eq "status/PATH: the copy id is the server's" "$(azb_sdk_emu props $C dst/big | azb_json .copyId)" \
  "$(sed -n 's/^copy_id=//p' "$X/status/dst/big")"
azb_emu_rate $((64 * 1048576))
wait_success() { for _ in $(seq 100); do [ "$(col /dst/big 1)" = success ] && return 0; sleep 0.2; done; return 1; }
ok "copies: the copy ends success" wait_success
eq "copies: 100 percent and a completion time" "100.0 yes" "$(col /dst/big 3) $([ -n "$(col /dst/big 7)" ] && echo yes)"
eq "the destination holds the source's bytes" "$(sha "$L/big")" "$(azb_sdk sha256 $C dst/big)"
ok "status/PATH of a file never copied has no copy keys" lacks '^copy_' cat "$X/status/src/small"
eq "status/PATH of a file: its etag" "$(azb_sdk props $C src/small | azb_json .etag)" \
  "$(sed -n 's/^etag=//p' "$X/status/src/small")"
ok "status/ of a missing path is ENOENT" fails_with "No such file" cat "$X/status/src/nope"
ok "status/ mirrors directories" bash -c "ls '$X/status/src' | grep -qx big"

# ---- bad lines: the write says why ----
azb_emu_rate 65536
ok "a line without DEST is EINVAL" fails_with "Invalid argument" bash -c "echo '/src/big' >'$X/copy'"
ok "a missing source is ENOENT" fails_with "No such file" bash -c "echo '/src/none /dst/x' >'$X/copy'"
ok "a malformed URL is EINVAL" fails_with "Invalid argument" bash -c "echo 'ftp://x/y /dst/y' >'$X/copy'"
echo "/src/big /dst/busy" >"$X/copy"
ok "a copy onto a pending copy is EBUSY" fails_with "Device or resource busy" \
  bash -c "echo '/src/small /dst/busy' >'$X/copy'"
printf '/src/small /dst/b1\n/src/none /dst/b2\n/src/small /dst/b3\n' >"$L/batch"
ok "a batch: the write returns the first error" fails_with "No such file" cp "$L/batch" "$X/copy"
ok "... and starts every good line" bash -c "azb_sdk props $C dst/b1 >/dev/null && azb_sdk props $C dst/b3 >/dev/null"
rm "$M/dst/busy"
eq "rm of a pending destination: copies shows it aborted" aborted "$(col /dst/busy 1)"

# ---- copies started by another client ----
url=$(azb_sdk url $C src/big)
azb_emu_rate 65536
azb_sdk_emu startcopy $C other/dst "$url" >/dev/null
ls "$M/other" >/dev/null
eq "a copy the SDK started shows up once the mount saw it" pending "$(col /other/dst 1)"

# ---- snapshots by writing a path ----
echo "/src/small" >"$X/snapshot"
eq "a path written to snapshot takes a snapshot" 1 \
  "$(azb_sdk listversions $C src/small | azb_json 'j.filter((x) => x.snapshot).length')"
ok "a missing path is ENOENT" fails_with "No such file" bash -c "echo /src/nope >'$X/snapshot'"

# ---- metrics: Prometheus' parser reads them and they move ----
cat >"$AZB_TMP/prom.py" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def total(fam, sample, **labels):
    return sum(s.value for s in fams[fam].samples
               if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))
print(" ".join(str(int(x)) for x in (
    total("azblobfs_requests", "azblobfs_requests_total"),
    total("azblobfs_request_seconds", "azblobfs_request_seconds_count"),
    total("azblobfs_bytes_received", "azblobfs_bytes_received_total"),
    total("azblobfs_copies", "azblobfs_copies", status="success"),
    len([f for f in ("azblobfs_requests", "azblobfs_request_seconds", "azblobfs_bytes_received",
         "azblobfs_bytes_sent", "azblobfs_retries", "azblobfs_copies", "azblobfs_uploads_pending",
         "azblobfs_cache_hits") if f in fams]))))
PY
cp "$X/metrics" "$AZB_TMP/metrics.1"
cat "$M/src/small" >/dev/null
cat "$M/dst/big" >/dev/null
cp "$X/metrics" "$AZB_TMP/metrics.2"
read -r r1 n1 b1 s1 f1 <<<"$("$PY" "$AZB_TMP/prom.py" "$AZB_TMP/metrics.1")"
read -r r2 n2 b2 s2 f2 <<<"$("$PY" "$AZB_TMP/prom.py" "$AZB_TMP/metrics.2")"
eq "metrics: every family of the contract parses" "8 8" "$f1 $f2"
ok "metrics: requests and their histogram count move ($r1 -> $r2)" test "$r2" -gt "$r1" -a "$n2" -gt "$n1"
ok "metrics: bytes received grow by the file read ($b1 -> $b2)" test $((b2 - b1)) -ge 1048576
ok "metrics: successful copies counted ($s2)" test "$s2" -ge 3

# ---- azblobfs status: plain lines in a pipe, bars on a terminal ----
azb_emu_rate 16384
echo "/src/big /dst/watched" >"$X/copy"
out=$("$AZBLOBFS_BIN" status "$M" | tee "$AZB_TMP/status.plain") || true
ok "status in a pipe: one plain line for the pending copy" grep -q '^copy pending .*/dst/watched' "$AZB_TMP/status.plain"
ok "status in a pipe: no terminal escapes" lacks $'\e' cat "$AZB_TMP/status.plain"
rc=0
script -qec "'$AZBLOBFS_BIN' status '$M'" "$AZB_TMP/status.tty" >/dev/null || rc=$?
ok "status on a terminal: a progress bar with percent, rate and time left" \
  grep -q '\[[#. ]*\] *[0-9.]*%' "$AZB_TMP/status.tty"
eq "status: exit 1 after an aborted copy" 1 "$rc"
rm "$M/dst/watched"
eq "status of a directory that is no azblobfs mount: exit 2" 2 \
  "$("$AZBLOBFS_BIN" status "$L" >/dev/null 2>&1; echo $?)"

# ---- control=NAME, control=off, a blob of that name ----
azb_sdk putstr $C .azblobfs/inside "a real blob" >/dev/null
M2="$AZB_TMP/m2"
azb_mount $C "$M2" "$AZB_CONN_EMU" control=.ctl
ok "control=NAME: the directory under its new name" test -f "$M2/.ctl/copies"
eq "... and a blob named .azblobfs is reachable" "a real blob" "$(cat "$M2/.azblobfs/inside")"
M3="$AZB_TMP/m3"
azb_mount $C "$M3" "$AZB_CONN_EMU" control=off
ok "control=off: no control directory" bash -c "! test -e '$M3/.ctl' && test -f '$M3/.azblobfs/inside'"
M4="$AZB_TMP/m4"
azb_mount $C "$M4" "$AZB_CONN_EMU"
ok "a blob of the control directory's name is reported at mount" \
  grep -q 'hidden by the control directory' "$AZB_TMP/mount-m4.log"

azb_done

#!/bin/sh
# run.sh -- runs one libFuzzer target on a copy of its seed corpus and
# prints one summary line (used by "make fuzz"; see tests/fuzz/README).
#
# usage: run.sh NAME BINARY SEED_DIR WORK_DIR RUNS MAX_LEN TIMEOUT [FLAGS...]
#
# The seeds are copied to WORK_DIR/corpus (libFuzzer adds the inputs it
# finds there), findings go to WORK_DIR/artifacts, the output to
# WORK_DIR/log, and the summary line to WORK_DIR/summary. Exits 0 even when
# the target crashed, so the other targets still run: "make fuzz" fails at
# the end if any summary counts a crash.
set -u

name=$1 bin=$2 seeds=$3 work=$4 runs=$5 max_len=$6 timeout=$7
shift 7

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" || exit 1
cp "$seeds"/* "$work/corpus/" || exit 1

start=$(date +%s)
"$bin" -runs="$runs" -max_len="$max_len" -timeout="$timeout" \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
	"$work/corpus" >"$work/log" 2>&1
rc=$?
end=$(date +%s)
secs=$((end - start))
# CPU seconds of the children: the wall time says more about the machine's
# load than about the target when other work shares the cores.
# ("times" must run in this shell, not in a $(...) subshell.)
times >"$work/times"
cpu=$(sed -n 2p "$work/times" | awk '{ split($1, u, "m"); split($2, s, "m");
	printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')

# "Done 1000000 runs in 84 second(s)" on a clean finish; otherwise the
# last "#N" status line tells how far it got.
done_runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$work/log" | tail -n 1)
if [ -z "$done_runs" ]; then
	done_runs=$(sed -n 's/^#\([0-9]*\)[[:space:]].*/\1/p' "$work/log" | tail -n 1)
fi
[ -n "$done_runs" ] || done_runs=0
crashes=$(find "$work/artifacts" -type f | wc -l)
if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
	crashes=1 # died without an artifact (e.g. out of memory in the runner)
fi
rate=0
[ "$secs" -gt 0 ] && rate=$((done_runs / secs))
corpus=$(find "$work/corpus" -type f | wc -l)

line="$name: $done_runs runs, $crashes crashes, ${secs} s (cpu ${cpu} s), $rate exec/s, corpus $corpus files"
if [ "$crashes" -ne 0 ]; then
	line="$line (see $work/log and $work/artifacts/)"
fi
echo "$line" | tee "$work/summary"
exit 0

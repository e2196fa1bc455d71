# t_model.sh -- the randomized model test (tests/model/model.py) against a
# real mount: random operations run on the mount and on a local reference
# directory and are compared after every step; a divergence is shrunk to a
# short reproducer (printed, and saved as model-repro-SEED.ops in
# MODEL_REPRO_DIR, default the current directory).
#
#   bash t_model.sh                  MODEL_OPS operations (default 1000)
#                                    in phase MODEL_PHASE (default plain)
#   bash t_model.sh --check          make check (t_model_check.sh): every
#                                    reproducer in tests/model/repro/, then
#                                    MODEL_OPS (default 400) operations in
#                                    phase plain and 200 with upload=async,
#                                    from a fixed MODEL_SEED (20261206), so
#                                    every run of the suite is the same
#   bash t_model.sh --long           make check-long (t_model_long.sh): three
#                                    phases of MODEL_SECONDS each (default 120)
#   bash t_model.sh --replay FILE... run reproducers, each on a new container
#                                    (in MODEL_PHASE: the one they came from,
#                                    see their header; tests/model/repro/
#                                    holds the divergences found so far)
#
# Phases:
#   plain  straight to Azurite, default attr_timeout; after another client's
#          write (the SDK) the mount is remounted before the model expects
#          to see it, so the caches run with the lifetime users get
#   chaos  through tests/js/chaos.js failing ~5% of the requests (503, 500,
#          resets, stalls past timeout=, truncated and slow answers); the
#          file system retries, so every result must still match
#   attr1  attr_timeout=1; after another client's write the model waits
#          2.5 s (the lifetime plus a margin) instead of remounting
#   async  as plain, with upload=async: close returns before the upload
#
# Knobs: MODEL_SEED (random; printed; phase k uses SEED+k), MODEL_OPS,
# MODEL_SECONDS, MODEL_COMPARE_MODE (on|off: compare permission bits too;
# default on), MODEL_MOUNT_OPTS (extra -o options for every
# mount, e.g. upload=async), MODEL_ARGS (extra model.py arguments),
# MODEL_CHAOS_RATE (0.05), PYTHON (python3).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../integration/lib.sh"

LONG=${MODEL_LONG:-0}
CHECK=0
REPLAYS=()
while [ $# -gt 0 ]; do
  case $1 in
  --long) LONG=1; shift ;;
  --check) CHECK=1; shift ;;
  --replay)
    shift
    [ $# -gt 0 ] || azb_die "--replay needs a file"
    while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
      [ -r "$1" ] || azb_die "--replay: cannot read $1"
      REPLAYS+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")")
      shift
    done
    ;;
  *) azb_die "usage: t_model.sh [--long|--check] [--replay FILE...]" ;;
  esac
done
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || azb_die "$PY not found (Python 3.9 or later is needed)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' || azb_die "$PY is older than 3.9"
if [ "$CHECK" = 1 ]; then
  SEED=${MODEL_SEED:-20261206}
  OPS=${MODEL_OPS:-400}
else
  SEED=${MODEL_SEED:-$((RANDOM * 32768 + RANDOM))}
  OPS=${MODEL_OPS:-1000}
fi
SECS=${MODEL_SECONDS:-120}
COMPARE_MODE=${MODEL_COMPARE_MODE:-on}
RATE=${MODEL_CHAOS_RATE:-0.05}
REPRO_DIR=${MODEL_REPRO_DIR:-$PWD}
USER_OPTS=${MODEL_MOUNT_OPTS:-}

azb_start_azurite
MNT="$AZB_TMP/m"
NC=0

new_container() { # a new empty container in C
  NC=$((NC + 1))
  C="model$NC"
  azb_sdk mkcontainer "$C" >/dev/null
}
mount_it() { # mounts C at MNT with the phase's connection and options
  azb_mount "$C" "$MNT" "$PH_CONN" "$PH_OPTS"
  MPID=$AZB_MOUNT_PID
}

unmount_it() { # also after a crash of the daemon, which leaves MNT dead
  azb_umount "$MNT" "$MPID"
  fusermount3 -uz "$MNT" 2>/dev/null || true
}

# serve REQUEST : carries out one request of model.py (see its "control
# channel"), sets ANS to the answer line
serve() {
  local verb what path file
  ANS=ok
  read -r verb what path file <<<"$1"
  case "$verb $what" in
  "remount ") unmount_it; mount_it ;;
  "fresh ") unmount_it; new_container; mount_it ;;
  "sdk put")
    azb_sdk put "$C" "$path" "$file" >/dev/null 2>"$AZB_TMP/sdk.err" ||
      ANS="error $(head -n 1 "$AZB_TMP/sdk.err")"
    ;;
  "sdk delete")
    azb_sdk delete "$C" "$path" >/dev/null 2>"$AZB_TMP/sdk.err" ||
      ANS="error $(head -n 1 "$AZB_TMP/sdk.err")"
    ;;
  "faults off" | "faults on")
    if [ -z "${CHAOS_PID:-}" ]; then
      ANS="error no fault injection in this phase"
    elif [ "$what" = off ]; then
      azb_chaos_rate 0
    else
      azb_chaos_rate "$RATE"
    fi
    ;;
  *) ANS="error unknown request: $1" ;;
  esac
}

# phase NAME CONN OPTS SETTLE HINT MODEL-ARGS... : one run of model.py on a
# new container mounted with OPTS through CONN; prints its result as a check
phase() {
  local name=$1 rc=0 req in out pid t0
  PH_CONN=$2
  PH_OPTS=$3
  local settle=$4 hint=$5
  shift 5
  new_container
  mount_it
  echo "# phase $name: mount options [$PH_OPTS], settle $settle, container $C"
  t0=$(date +%s)
  # shellcheck disable=SC2086 # MODEL_ARGS is a word list on purpose
  coproc MODEL {
    exec "$PY" "$HERE/model.py" --control stdio --mount "$MNT" --ref "$AZB_TMP/ref" \
      --work-dir "$AZB_TMP" --settle "$settle" --compare-mode "$COMPARE_MODE" \
      --repro-dir "$REPRO_DIR" --replay-hint "$hint" "$@" ${MODEL_ARGS:-}
  }
  pid=$MODEL_PID
  in=${MODEL[0]}
  out=${MODEL[1]}
  azb_on_exit "kill $pid 2>/dev/null"
  while IFS= read -r req <&"$in"; do
    serve "$req"
    # a driver gone meanwhile (its watchdog) must not take this script
    # down with SIGPIPE (and a subshell would not have the coproc's fds)
    trap '' PIPE
    { echo "$ANS" >&"$out"; } 2>/dev/null || true
    trap - PIPE
  done
  wait "$pid" || rc=$?
  case $rc in
  0) ok "phase $name: mount and reference agree ($(($(date +%s) - t0)) s)" true ;;
  1) ok "phase $name: mount and reference agree (divergence: see the reproducer above)" false ;;
  3) ok "phase $name: no operation hung (see the step above)" false ;;
  *) ok "phase $name: model.py ran (exit status $rc)" false ;;
  esac
  unmount_it
}

hint() { # PHASE : the command line that replays a reproducer of PHASE
  echo "MODEL_PHASE=$1${USER_OPTS:+ MODEL_MOUNT_OPTS=$USER_OPTS} bash tests/model/t_model.sh --replay"
}
opts() { # BASE : the phase's -o options BASE plus MODEL_MOUNT_OPTS
  local o=$1
  [ -z "$USER_OPTS" ] || o=${o:+$o,}$USER_OPTS
  echo "$o"
}
start_chaos() {
  # the faults of t_chaos.sh; a stall holds a request past timeout=4
  AZB_CHAOS_ARGS="--seed $SEED --stall-ms 5000 --trickle-bps $((2 * 1024 * 1024))" \
    azb_start_chaos "$RATE" 503,500,reset,truncate,trickle,503,500,reset,truncate,trickle,stall
}
CHAOS_OPTS="retries=8,timeout=4,block_size=4,parallel=4"

# run_phase PHASE MODEL-ARGS... : the set-up of PHASE, then phase
run_phase() {
  local p=$1
  shift
  case $p in
  plain) phase plain "$AZB_CONN" "$(opts "")" remount "$(hint plain)" "$@" ;;
  chaos)
    start_chaos
    echo "# chaos proxy: rate $RATE, seed $SEED"
    phase chaos "$AZB_CONN_CHAOS" "$(opts "$CHAOS_OPTS")" remount "$(hint chaos)" "$@"
    echo "# faults injected: $(azb_chaos_stats | azb_json .injected)"
    azb_stop_chaos
    ;;
  attr1) phase attr1 "$AZB_CONN" "$(opts attr_timeout=1)" wait:2.5 "$(hint attr1)" "$@" ;;
  async) phase async "$AZB_CONN" "$(opts upload=async)" remount "$(hint async)" "$@" ;;
  *) azb_die "MODEL_PHASE must be plain, chaos, attr1 or async" ;;
  esac
}

if [ "${#REPLAYS[@]}" -gt 0 ]; then
  for f in "${REPLAYS[@]}"; do
    echo "# replay $f"
    run_phase "${MODEL_PHASE:-plain}" --replay "$f"
  done
elif [ "$CHECK" = 1 ]; then
  for f in "$HERE"/repro/*.ops; do
    # the phase a reproducer came from is in its header
    p=$(sed -n 's/^# run: MODEL_PHASE=\([a-z0-9]*\).*/\1/p' "$f" | head -n 1)
    echo "# replay $(basename "$f") in phase ${p:-plain}"
    run_phase "${p:-plain}" --replay "$f"
  done
  run_phase plain --seed "$SEED" --ops "$OPS" --shrink-seconds 90
  run_phase async --seed $((SEED + 1)) --ops $((OPS / 2)) --shrink-seconds 90
elif [ "$LONG" = 1 ]; then
  run_phase plain --seed "$SEED" --ops 1000000 --seconds "$SECS"
  run_phase chaos --seed $((SEED + 1)) --ops 1000000 --seconds "$SECS"
  run_phase attr1 --seed $((SEED + 2)) --ops 1000000 --seconds "$SECS"
else
  run_phase "${MODEL_PHASE:-plain}" --seed "$SEED" --ops "$OPS" --shrink-seconds 90
fi
azb_done

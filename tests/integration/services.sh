# services.sh - bash library for the integration tests: starts Azurite, the
# async-copy emulator (tests/js/copyemu.js), a static file server
# (tests/js/httpfiles.js), a fault-injecting proxy (tests/js/chaos.js) and
# a lying Blob service (tests/js/hostile.js) on 127.0.0.1, and stops them
# all on exit.
#
# Source it from a test script running under "set -eu":
#   . "$(dirname "$0")/services.sh"
#   azb_start_azurite; azb_start_copyemu 262144
#   azb_on_exit 'fusermount3 -u "$MNT"'     # cleanups run last-in, first-out
#
# Missing node or node_modules is a hard error (exit 99), never a skip.
# Functions: azb_node_dir azb_free_port azb_start_azurite azb_start_copyemu
#   azb_start_httpfiles azb_sdk azb_sdk_emu azb_absent azb_emu_log azb_emu_reset
#   azb_emu_rate azb_json azb_on_exit azb_services_cleanup
#   azb_start_chaos azb_stop_chaos azb_chaos_stats azb_chaos_log
#   azb_chaos_reset azb_chaos_rate azb_start_hostile azb_hostile_log
#   azb_hostile_count
# Exports: AZURITE_PORT AZURITE_URL AZB_ACCOUNT AZB_KEY AZB_CONN
#   AZB_CONN_AZURITE EMU_PORT EMU_URL AZB_CONN_EMU FILES_PORT AZB_JS_DIR
#   CHAOS_PORT CHAOS_URL AZB_CONN_CHAOS CHAOS_PID HOSTILE_PORT
#   AZB_CONN_HOSTILE

AZB_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AZB_JS_DIR="$AZB_TESTS_DIR/js"
AZB_NODE=${AZB_NODE:-node}
export AZB_JS_DIR
export AZB_ACCOUNT=devstoreaccount1
export AZB_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

AZB_EXIT_CMDS=()   # commands run by the single EXIT trap, last first
AZB_PIDS=()        # processes started here
AZB_TMP=""         # temp dir holding Azurite's data and the logs

azb_die() { # MSG... : hard error (automake's 99)
  echo "services.sh: ERROR: $*" >&2
  exit 99
}

# --- exit handling ------------------------------------------------------
_azb_run_exit() {
  local rc=$? i
  set +e
  trap - EXIT
  for ((i = ${#AZB_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
    eval "${AZB_EXIT_CMDS[$i]}"
  done
  exit "$rc"
}

azb_on_exit() { # CMD : run CMD (eval'd) when the script exits
  AZB_EXIT_CMDS+=("$*")
}

# Keep an EXIT trap installed before this file was sourced.
_azb_prev_trap=$(trap -p EXIT)
if [ -n "$_azb_prev_trap" ]; then
  eval "_azb_prev_args=($_azb_prev_trap)"
  azb_on_exit "${_azb_prev_args[2]}"
fi
trap _azb_run_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- basics -------------------------------------------------------------
azb_node_dir() { # print the node_modules directory to use
  local d=${AZB_NODE_DIR:-$AZB_TESTS_DIR/node_modules}
  command -v "$AZB_NODE" >/dev/null 2>&1 || azb_die "node not found (install Node.js >= 20)"
  if [ ! -d "$d/@azure/storage-blob" ] || [ ! -e "$d/.bin/azurite-blob" ]; then
    azb_die "node modules missing in $d: run 'npm ci' in $AZB_TESTS_DIR (or set AZB_NODE_DIR)"
  fi
  (cd "$d" && pwd)
}

_azb_tmp() {
  if [ -z "$AZB_TMP" ]; then
    AZB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/azb-services.XXXXXX")
  fi
}

azb_free_port() {
  "$AZB_NODE" -e 'const s=require("net").createServer();
    s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

_azb_node() { # run node with the test node_modules on NODE_PATH
  local nd
  nd=$(azb_node_dir) || exit 99
  NODE_PATH=$nd "$AZB_NODE" "$@"
}

# _azb_wait_listening LOGFILE PID NAME : wait for "listening PORT", print PORT
_azb_wait_listening() {
  local i port
  for ((i = 0; i < 300; i++)); do
    port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$1" 2>/dev/null | head -n 1)
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  cat "$1" "$1.err" >&2 2>/dev/null || true
  azb_die "$3 did not start"
}

# --- services -----------------------------------------------------------
azb_start_azurite() {
  local nd i pid
  nd=$(azb_node_dir) || exit 99
  _azb_tmp
  mkdir -p "$AZB_TMP/azurite"
  AZURITE_PORT=$(azb_free_port)
  "$AZB_NODE" "$nd/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --location "$AZB_TMP/azurite" --silent --loose --skipApiVersionCheck --disableTelemetry \
    >"$AZB_TMP/azurite.log" 2>&1 &
  pid=$!
  AZB_PIDS+=("$pid")
  for ((i = 0; i < 300; i++)); do
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$AZURITE_PORT/devstoreaccount1?comp=list"; then
      break
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$AZB_TMP/azurite.log" >&2; azb_die "Azurite exited"; }
    sleep 0.1
  done
  [ "$i" -lt 300 ] || { cat "$AZB_TMP/azurite.log" >&2; azb_die "Azurite did not answer in 30 s"; }
  AZURITE_URL="http://127.0.0.1:$AZURITE_PORT/$AZB_ACCOUNT"
  AZB_CONN_AZURITE="DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=$AZURITE_URL;"
  AZB_CONN=$AZB_CONN_AZURITE
  export AZURITE_PORT AZURITE_URL AZB_CONN AZB_CONN_AZURITE
}

azb_start_copyemu() { # [RATE bytes/s] (default 1 MiB/s)
  local pid nd
  [ -n "${AZURITE_PORT:-}" ] || azb_die "azb_start_copyemu: start Azurite first"
  nd=$(azb_node_dir) || exit 99
  _azb_tmp
  # node itself must be the background process (its pid is killed later)
  NODE_PATH=$nd "$AZB_NODE" "$AZB_JS_DIR/copyemu.js" --listen 0 --upstream "http://127.0.0.1:$AZURITE_PORT" \
    --rate "${1:-1048576}" ${AZB_EMU_VERBOSE:+--verbose} \
    >"$AZB_TMP/copyemu.out" 2>"$AZB_TMP/copyemu.out.err" &
  pid=$!
  AZB_PIDS+=("$pid")
  EMU_PORT=$(_azb_wait_listening "$AZB_TMP/copyemu.out" "$pid" copyemu) || exit 99
  EMU_URL="http://127.0.0.1:$EMU_PORT/$AZB_ACCOUNT"
  AZB_CONN_EMU="DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=$EMU_URL;"
  export EMU_PORT EMU_URL AZB_CONN_EMU
}

azb_start_httpfiles() { # DIR [SIG]
  local pid nd out
  nd=$(azb_node_dir) || exit 99
  _azb_tmp
  out="$AZB_TMP/httpfiles.${#AZB_PIDS[@]}.out"   # one per instance
  NODE_PATH=$nd "$AZB_NODE" "$AZB_JS_DIR/httpfiles.js" --dir "$1" --listen 0 ${2:+--require-sig "$2"} \
    >"$out" 2>"$out.err" &
  pid=$!
  AZB_PIDS+=("$pid")
  FILES_PORT=$(_azb_wait_listening "$out" "$pid" httpfiles) || exit 99
  export FILES_PORT
}

# azb_start_chaos RATE [FAULTS] : the fault-injecting proxy (tests/js/chaos.js)
# in front of Azurite. FAULTS is a comma list (default: all kinds). Extra
# chaos.js arguments (--seed N, --stall-ms MS, --trickle-bps BPS) come from
# AZB_CHAOS_ARGS; AZB_CHAOS_LISTEN=PORT asks for a fixed port (restarts).
azb_start_chaos() {
  local pid nd out
  [ -n "${AZURITE_PORT:-}" ] || azb_die "azb_start_chaos: start Azurite first"
  nd=$(azb_node_dir) || exit 99
  _azb_tmp
  out="$AZB_TMP/chaos.${#AZB_PIDS[@]}.out"
  # shellcheck disable=SC2086 # AZB_CHAOS_ARGS is a word list on purpose
  NODE_PATH=$nd "$AZB_NODE" "$AZB_JS_DIR/chaos.js" --listen "${AZB_CHAOS_LISTEN:-0}" \
    --upstream "http://127.0.0.1:$AZURITE_PORT" --rate "$1" ${2:+--faults "$2"} \
    ${AZB_CHAOS_ARGS:-} >"$out" 2>"$out.err" &
  pid=$!
  AZB_PIDS+=("$pid")
  CHAOS_PID=$pid
  CHAOS_PORT=$(_azb_wait_listening "$out" "$pid" chaos) || exit 99
  CHAOS_URL="http://127.0.0.1:$CHAOS_PORT/$AZB_ACCOUNT"
  AZB_CONN_CHAOS="DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=$CHAOS_URL;"
  export CHAOS_PORT CHAOS_URL AZB_CONN_CHAOS CHAOS_PID
}

azb_stop_chaos() { # stop the proxy started last by azb_start_chaos
  local i
  [ -n "${CHAOS_PID:-}" ] || return 0
  kill "$CHAOS_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$CHAOS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$CHAOS_PID" 2>/dev/null || true
  wait "$CHAOS_PID" 2>/dev/null || true
  CHAOS_PID=""
}

azb_chaos_stats() { curl -sS --fail "http://127.0.0.1:$CHAOS_PORT/__chaos/stats"; }
azb_chaos_log() { curl -sS --fail "http://127.0.0.1:$CHAOS_PORT/__chaos/log"; }
azb_chaos_reset() { curl -sS --fail -o /dev/null -X POST "http://127.0.0.1:$CHAOS_PORT/__chaos/reset"; }
# azb_chaos_rate R [FAULTS [MATCH [COUNT]]] : MATCH "" = every request;
# COUNT = at most that many more injections (default: no limit)
azb_chaos_rate() {
  curl -sS --fail -o /dev/null -X POST -G --data-urlencode "r=$1" \
    ${2:+--data-urlencode "faults=$2"} ${3+--data-urlencode "match=$3"} \
    ${4:+--data-urlencode "count=$4"} "http://127.0.0.1:$CHAOS_PORT/__chaos/rate"
}

# azb_start_hostile : tests/js/hostile.js, a Blob service that answers
# with entity bombs, oversized bodies and headers, lying Content-Lengths,
# garbage and silence; exports HOSTILE_PORT and AZB_CONN_HOSTILE (the dev
# account, which it does not check).
azb_start_hostile() {
  local pid nd
  nd=$(azb_node_dir) || exit 99
  _azb_tmp
  NODE_PATH=$nd "$AZB_NODE" "$AZB_JS_DIR/hostile.js" --listen 0 \
    >"$AZB_TMP/hostile.out" 2>"$AZB_TMP/hostile.out.err" &
  pid=$!
  AZB_PIDS+=("$pid")
  HOSTILE_PORT=$(_azb_wait_listening "$AZB_TMP/hostile.out" "$pid" hostile) || exit 99
  AZB_CONN_HOSTILE="DefaultEndpointsProtocol=http;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=http://127.0.0.1:$HOSTILE_PORT/$AZB_ACCOUNT;"
  export HOSTILE_PORT AZB_CONN_HOSTILE
}
azb_hostile_log() { curl -sS --fail "http://127.0.0.1:$HOSTILE_PORT/__hostile/log"; }
# azb_hostile_count KIND : how many answers of KIND were given (all: requests)
azb_hostile_count() { curl -sS --fail "http://127.0.0.1:$HOSTILE_PORT/__hostile/count?kind=$1"; }

# --- clients ------------------------------------------------------------
azb_sdk() { # ARGS... : sdk.js against Azurite directly
  AZB_CONN=$AZB_CONN_AZURITE _azb_node "$AZB_JS_DIR/sdk.js" "$@"
}

azb_sdk_emu() { # ARGS... : sdk.js through the copy emulator
  AZB_CONN=$AZB_CONN_EMU _azb_node "$AZB_JS_DIR/sdk.js" "$@"
}

# azb_absent C NAME : passes only when the server answers 404 for blob NAME
# (a failure of any other kind -- connection refused, 403 -- fails it)
azb_absent() {
  local out
  if out=$(azb_sdk props "$1" "$2" 2>&1 >/dev/null); then
    echo "  ($2 still exists on the server)" >&2
    return 1
  fi
  case "$out" in
  *"props: 404 "*) return 0 ;;
  esac
  echo "  (asking for $2 failed without a 404: $out)" >&2
  return 1
}

azb_emu_log() { curl -sS --fail "http://127.0.0.1:$EMU_PORT/__emu/log"; }
azb_emu_reset() { curl -sS --fail -o /dev/null -X POST "http://127.0.0.1:$EMU_PORT/__emu/reset"; }
azb_emu_rate() { curl -sS --fail -o /dev/null -X POST "http://127.0.0.1:$EMU_PORT/__emu/rate?bps=$1"; }

azb_json() { # EXPR : JSON on stdin, print EXPR evaluated on object j ('.a.b' = 'j.a.b')
  "$AZB_NODE" -e '
    let s = ""; process.stdin.setEncoding("utf8");
    process.stdin.on("data", (d) => { s += d; });
    process.stdin.on("end", () => {
      const j = JSON.parse(s);
      let e = process.argv[1]; if (e.startsWith(".")) e = "j" + e;
      const v = eval(e);
      console.log(typeof v === "string" ? v : (v === undefined ? "null" : JSON.stringify(v)));
    });' "$1"
}

# --- cleanup ------------------------------------------------------------
azb_services_cleanup() {
  local pid i
  for pid in "${AZB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${AZB_PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  AZB_PIDS=()
  if [ -n "$AZB_TMP" ]; then rm -rf "$AZB_TMP"; AZB_TMP=""; fi
}
azb_on_exit azb_services_cleanup

#!/usr/bin/env bash
# contrib/check.sh -- build azblobfs and run its whole test suite.
#
# Installs what is missing (Debian packages, the test JavaScript dependencies),
# builds out of tree in build/ with warnings as errors, runs "make check"
# (unit tests and the integration tests against Azurite and the async-copy
# emulator) and ends with one line:
#
#     check: N passed, M failed
#
# counted from the automake test results (build/**/*.trs).  A skipped test,
# an expected failure (XFAIL) and an unexpected pass (XPASS) count as failed:
# every test here must run and pass.  Exit status 0 iff make check succeeded
# and M is 0.  The full output of the build and of the tests is kept in
# build/check.log; its tail is printed when something fails.
#
# Usage: contrib/check.sh [--no-install] [--no-sanitizers] [--no-long]
#   --no-install     do not install Debian packages (the test JavaScript
#                    dependencies in tests/node_modules are still installed
#                    with npm ci when missing or older than the lockfile)
#   --no-long        skip "make check-long": the chaos run (1 GiB and 1,000
#                    files through a proxy injecting ~5% faults), the
#                    soak (t_concurrency for SOAK_SECONDS, here 120 unless
#                    set) and the model test's three phases (MODEL_SECONDS,
#                    here 60 each, from MODEL_SEED, here 20261206, so that
#                    every run checks the same), about 8 minutes
#   --no-sanitizers  skip the second build in build-asan/ with
#                    AddressSanitizer and UndefinedBehaviorSanitizer, which
#                    otherwise runs the unit tests and a short integration
#                    pass (every daemon log is checked for sanitizer and leak
#                    reports); log: build-asan/check.log, counted too
#
# Safe to run again: it reconfigures and rebuilds incrementally.  It never
# reads stdin.  Environment: AZB_JOBS (make parallelism, default 2).
set -euo pipefail

AZB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AZB_PROG=check
# shellcheck source=contrib/deps.sh
. "$AZB_ROOT/contrib/deps.sh"
cd "$AZB_ROOT"

JOBS=${AZB_JOBS:-2}
BUILD=build
ASAN_BUILD=build-asan

usage() {
  sed -n '/^# Usage:/,/^# Safe to run/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

do_install=1
do_sanitizers=1
do_long=1
for arg in "$@"; do
  case "$arg" in
    --no-install) do_install=0 ;;
    --sanitizers) do_sanitizers=1 ;;
    --no-sanitizers) do_sanitizers=0 ;;
    --no-long) do_long=0 ;;
    -h | --help) usage; exit 0 ;;
    *) azb_warn "unknown argument: $arg"; usage >&2; exit 2 ;;
  esac
done

passed=0
failed=0

# Print the summary line and exit: 0 only if nothing failed and something ran.
finish() { # STATUS (0 = every step succeeded)
  local status=$1
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "check: a build or harness step failed; counting it as one failure"
    failed=1
  fi
  if [ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -eq 0 ]; then
    echo "check: no test result was found; counting that as one failure"
    failed=1
  fi
  echo "check: $passed passed, $failed failed"
  if [ "$status" -eq 0 ] && [ "$failed" -eq 0 ]; then
    exit 0
  fi
  exit 1
}

show_tail() { # LOG
  echo "---- last 150 lines of $1 ----"
  tail -n 150 "$1" || true
  echo "---- end of $1 ----"
}

# Run one step, its output appended to LOG; on failure say so and return its status.
step() { # LOG TITLE CMD...
  local log="$1" title="$2" rc=0
  shift 2
  azb_log "$title"
  printf '\n==== %s: %s\n' "$title" "$*" >>"$log"
  "$@" >>"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    azb_warn "$title failed (exit $rc); full output in $log"
  fi
  return "$rc"
}

# Add the results of one build directory to passed/failed.  The automake
# parallel harness writes one .trs file per test with ":test-result:" lines;
# without any .trs file (serial harness), the "RESULT: name" lines that make
# check printed are counted instead.
count_results() { # DIR LOG FIRST_LINE_OF_MAKE_CHECK_OUTPUT
  local dir="$1" log="$2" first="$3" counts p f
  if [ -n "$(find "$dir" -name '*.trs' -type f -print -quit 2>/dev/null)" ]; then
    counts=$(find "$dir" -name '*.trs' -type f -exec cat {} + |
      awk '/^:test-result: *PASS/ { p++ }
           /^:test-result: *(FAIL|XPASS|XFAIL|ERROR|SKIP)/ { f++ }
           END { print p + 0, f + 0 }')
  else
    counts=$(tail -n "+$first" "$log" |
      awk '/^PASS: / { p++ }
           /^(FAIL|XPASS|XFAIL|ERROR|SKIP): / { f++ }
           END { print p + 0, f + 0 }')
  fi
  read -r p f <<<"$counts"
  passed=$((passed + p))
  failed=$((failed + f))
}

# Print one line per test result of the last make check (PASS: x, FAIL: y).
show_results() { # LOG FIRST_LINE
  tail -n "+$2" "$1" | grep -E '^(PASS|FAIL|XPASS|XFAIL|SKIP|ERROR): ' || true
}

# Clear results of earlier runs so that a test removed since is not counted.
clear_results() { # DIR
  find "$1" \( -name '*.trs' -o -name 'test-suite.log' \) -type f -delete 2>/dev/null || true
}

# The unit tests among the TESTS of a configured build directory.
unit_tests() { # DIR
  local all t out=()
  # shellcheck disable=SC2016  # $(TESTS) is for make, not the shell
  all=$(printf 'azb-print-tests:\n\t@echo $(TESTS)\n' |
    make -s --no-print-directory -C "$1" -f Makefile -f - azb-print-tests 2>/dev/null) || all=""
  for t in $all; do
    case "$t" in tests/unit/*) out+=("$t") ;; esac
  done
  if [ "${#out[@]}" -eq 0 ]; then
    for t in tests/unit/test_*.c; do
      [ -e "$t" ] && out+=("${t%.c}")
    done
  fi
  printf '%s\n' "${out[*]-}"
}

# ---------------------------------------------------------------- set-up
mkdir -p "$BUILD"
LOG="$AZB_ROOT/$BUILD/check.log"
: >"$LOG"

if [ "$do_install" -eq 1 ]; then
  step "$LOG" "installing missing packages" azb_install_packages || {
    show_tail "$LOG"
    finish 1
  }
fi
azb_ensure_fuse
step "$LOG" "test JavaScript dependencies" azb_ensure_node_modules || {
  show_tail "$LOG"
  finish 1
}

# ---------------------------------------------------------------- main build
status=0
if step "$LOG" "autoreconf" azb_autoreconf &&
  step "$LOG" "configure $BUILD/" azb_configure "$BUILD" --enable-werror &&
  step "$LOG" "make -j$JOBS" make -C "$BUILD" -j"$JOBS"; then
  clear_results "$BUILD"
  first=$(($(wc -l <"$LOG") + 1))
  step "$LOG" "make -j$JOBS check" make -C "$BUILD" -j"$JOBS" check VERBOSE=1 || status=1
  # the unit tests once more under valgrind memcheck: any error or
  # definite leak fails them (their results replace the plain run's)
  if [ "$status" -eq 0 ]; then
    step "$LOG" "unit tests under valgrind" make -C "$BUILD" -j"$JOBS" check \
      TESTS="$(unit_tests "$BUILD")" VERBOSE=1 \
      LOG_COMPILER="valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite" ||
      status=1
  fi
  if [ "$status" -eq 0 ] && [ "$do_long" -eq 1 ]; then
    export SOAK_SECONDS=${SOAK_SECONDS:-120}
    export MODEL_SECONDS=${MODEL_SECONDS:-60} MODEL_SEED=${MODEL_SEED:-20261206}
    step "$LOG" "make check-long (chaos, soak for $SOAK_SECONDS s)" \
      make -C "$BUILD" check-long VERBOSE=1 || status=1
  fi
  show_results "$LOG" "$first"
  count_results "$BUILD" "$LOG" "$first"
else
  status=1
fi
if [ "$status" -ne 0 ]; then
  show_tail "$LOG"
fi

# ---------------------------------------------------------------- sanitizers
if [ "$do_sanitizers" -eq 1 ] && [ "$status" -eq 0 ]; then
  mkdir -p "$ASAN_BUILD"
  ALOG="$AZB_ROOT/$ASAN_BUILD/check.log"
  : >"$ALOG"
  asan_args=(--enable-sanitizers --enable-werror)
  if ./configure --help 2>/dev/null | grep -q -- '--disable-integration-tests'; then
    asan_args+=(--disable-integration-tests)
  fi
  asan_status=0
  if step "$ALOG" "configure $ASAN_BUILD/" azb_configure "$ASAN_BUILD" "${asan_args[@]}" &&
    step "$ALOG" "make -j$JOBS ($ASAN_BUILD)" make -C "$ASAN_BUILD" -j"$JOBS"; then
    units=$(unit_tests "$ASAN_BUILD")
    if [ -z "$units" ]; then
      azb_warn "no unit test found for the sanitizer build"
      asan_status=1
    else
      clear_results "$ASAN_BUILD"
      first=$(($(wc -l <"$ALOG") + 1))
      step "$ALOG" "make -j$JOBS check ($ASAN_BUILD, unit tests + short integration pass)" \
        make -C "$ASAN_BUILD" -j"$JOBS" check \
        TESTS="$units tests/integration/t_basic.sh tests/integration/t_names.sh tests/integration/t_dirloop.sh" VERBOSE=1 || asan_status=1
      show_results "$ALOG" "$first"
      count_results "$ASAN_BUILD" "$ALOG" "$first"
    fi
  else
    asan_status=1
  fi
  if [ "$asan_status" -ne 0 ]; then
    show_tail "$ALOG"
    status=1
  fi
fi

finish "$status"

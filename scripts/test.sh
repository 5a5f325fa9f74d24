#!/usr/bin/env bash
# The test command (README, CI): installs dependencies, builds, and runs every
# test against a throwaway PostgreSQL; then again in an AddressSanitizer +
# UndefinedBehaviorSanitizer build; the threaded tests under ThreadSanitizer;
# then the fuzz targets for a fixed budget. Prints each stage's duration and
# a summary table at the end (also when a stage fails).
#   CREDVAULT_TEST_FAST=1 skips the sanitizer and fuzz stages (local iteration only).
#
# Builds use Ninja and precompiled headers. The main build is the default
# compiler (g++), RelWithDebInfo, in build/ (the README's hand build uses the
# same folder), with line tables only (-g1: file:line and function names in a
# backtrace; full -g took a third of the build's time). The test code itself
# builds at -O1 (tests/CMakeLists.txt). The sanitizer builds are clang (it compiles them
# two to three times faster than g++) with line tables only (file:line in
# reports, no full debug info): ASan+UBSan at -O0, TSan at -O1.
# Database tests run in parallel, each in its own database; the one test that
# restarts the server runs alone, and the tests that pause the hot standby's
# replay run one at a time (tests/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

scripts/setup.sh

# --- stage timing ------------------------------------------------------------
stage_names=()
stage_secs=()
stage_name=""
stage_start=0
total_start=$SECONDS
duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
end_stage() {
  [ -n "$stage_name" ] || return 0
  local took=$((SECONDS - stage_start))
  printf '== %s (took %s)\n' "$stage_name" "$(duration "$took")"
  stage_names+=("$stage_name")
  stage_secs+=("$took")
  stage_name=""
}
# stage NAME DESCRIPTION: ends the previous stage and starts NAME.
stage() {
  end_stage
  stage_name=$1
  stage_start=$SECONDS
  printf '\n== %s: %s\n' "$1" "$2"
}
summary() {
  local status=$?
  local failed=$stage_name
  end_stage
  printf '\n%-14s %s\n' "stage" "took"
  local i
  for i in "${!stage_names[@]}"; do
    printf '%-14s %s\n' "${stage_names[$i]}" "$(duration "${stage_secs[$i]}")"
  done
  printf '%-14s %s\n' "total" "$(duration $((SECONDS - total_start)))"
  if [ "$status" -ne 0 ]; then
    echo "FAILED${failed:+ in stage $failed} (exit $status)" >&2
  fi
}
trap summary EXIT

# configure DIR ARGS...: Ninja for a new folder; a folder configured earlier
# keeps its generator (cmake cannot switch it in place).
configure() {
  local dir=$1
  shift
  local generator=()
  [ -f "$dir/CMakeCache.txt" ] || generator=(-G Ninja)
  cmake -S . -B "$dir" "${generator[@]}" "$@" >/dev/null
}
# fresh_if_other_compiler DIR CXX: test.sh's own sanitizer folders are made
# afresh when an earlier run configured them with another compiler.
fresh_if_other_compiler() {
  if [ -f "$1/CMakeCache.txt" ] && ! grep -q "^CMAKE_CXX_COMPILER:FILEPATH=.*/$2\$" "$1/CMakeCache.txt"; then
    rm -rf "$1"
  fi
}

run_suite() {  # $1 = build dir, rest = extra ctest args
  local dir=$1; shift
  scripts/with-postgres.sh ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@"
}

# The targets the test stages run (not the benchmark helper); credvault_docs:
# the man pages and bash completion the script tests check.
test_targets=(credvault credvault_lib credvault_docs credvault_unit_tests credvault_pg_tests)

# --- main build ----------------------------------------------------------------
stage build "RelWithDebInfo (default compiler) in build/"
# Prefix /usr: the Debian package test (tests/scripts/install_package.sh)
# packages this build instead of making a second one.
configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
cmake --build build -j"$jobs"

stage tests "unit, CLI, PostgreSQL, interop (build/)"
run_suite build

if [ "${CREDVAULT_TEST_FAST:-0}" = 1 ]; then
  echo "CREDVAULT_TEST_FAST=1: sanitizer and fuzz stages not run"
  exit 0
fi

# --- AddressSanitizer + UndefinedBehaviorSanitizer -------------------------------
stage asan-build "AddressSanitizer + UndefinedBehaviorSanitizer (clang, Debug) in build-asan/"
fresh_if_other_compiler build-asan clang++
CC=clang CXX=clang++ configure build-asan -DCMAKE_BUILD_TYPE=Debug -DCREDVAULT_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_DEBUG="-O0 -gline-tables-only"
cmake --build build-asan -j"$jobs" --target "${test_targets[@]}"

stage asan-tests "under ASan+UBSan (label nosan excluded: the Python ctypes and find_package consumer tests load the library into non-sanitized processes; they ran above)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS="suppressions=$root/tests/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_suite build-asan -LE nosan

# --- ThreadSanitizer -----------------------------------------------------------
stage tsan "ThreadSanitizer (clang, -O1) in build-tsan/: the threaded code (crypto pool, pipelined writers, connection pool) and the concurrency tests"
fresh_if_other_compiler build-tsan clang++
# The tests it runs, by Catch tag; only the files holding them are compiled (CREDVAULT_TEST_TAGS).
tsan_unit_tags=(keys pool)
tsan_pg_tags=(concurrency vault)
catch_spec() { local spec="" tag; for tag in "$@"; do spec+="${spec:+,}[$tag]"; done; printf '%s' "$spec"; }
CC=clang CXX=clang++ configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREDVAULT_TSAN=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCREDVAULT_TEST_TAGS="$(IFS=';'; echo "${tsan_unit_tags[*]};${tsan_pg_tags[*]}")"
cmake --build build-tsan -j"$jobs" --target credvault credvault_unit_tests credvault_pg_tests
# setarch -R: TSan's fixed shadow layout needs the address space unrandomized
# on kernels with high mmap entropy. The spawned CLI is the TSan build too.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" setarch "$(uname -m)" -R \
  build-tsan/tests/credvault_unit_tests --warn NoTests "$(catch_spec "${tsan_unit_tags[@]}")"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" CREDVAULT_TEST_NO_STANDBY=1 setarch "$(uname -m)" -R \
  scripts/with-postgres.sh build-tsan/tests/credvault_pg_tests --warn NoTests "$(catch_spec "${tsan_pg_tags[@]}")"

# --- fuzzing -----------------------------------------------------------------
stage fuzz "libFuzzer targets (clang) in build-fuzz/"
fresh_if_other_compiler build-fuzz clang++
CC=clang CXX=clang++ configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREDVAULT_FUZZ=ON -DCREDVAULT_TESTS=OFF
fuzz_targets=()
for corpus in tests/fuzz/corpus/*/; do fuzz_targets+=("fuzz_$(basename "$corpus")"); done
cmake --build build-fuzz -j"$jobs" --target "${fuzz_targets[@]}"
fuzz_runs=${CREDVAULT_FUZZ_RUNS:-50000}
# ...or this many seconds, whichever comes first: the targets that parse with
# PostgreSQL's parser or write a file per input are slow, and share 2 cores.
fuzz_seconds=${CREDVAULT_FUZZ_SECONDS:-60}
# The targets run at the same time (each is one process), each on a copy of
# its seed corpus; results are reported in order once all have ended.
fuzz_work=$(mktemp -d)
fuzz_pids=()
for corpus in "$root"/tests/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  mkdir "$fuzz_work/$name"
  cp -r "$corpus"/. "$fuzz_work/$name"/
  "build-fuzz/tests/fuzz/fuzz_$name" -runs="$fuzz_runs" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$fuzz_work/$name" \
    >"$fuzz_work/$name.log" 2>&1 &
  fuzz_pids+=("$!")
done
fuzz_failed=0
i=0
for corpus in "$root"/tests/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  if wait "${fuzz_pids[$i]}"; then
    echo "fuzz_$name: $(grep -E 'stat::number_of_executed_units' "$fuzz_work/$name.log" | awk '{print $2}') executions, no crash"
  else
    tail -n 60 "$fuzz_work/$name.log"
    echo "fuzz_$name FAILED" >&2
    fuzz_failed=1
  fi
  i=$((i + 1))
done
rm -rf "$fuzz_work"
[ "$fuzz_failed" = 0 ] || exit 1
end_stage
echo "all stages passed"

#!/usr/bin/env bash
# The test command (README, CI): installs dependencies, builds, and runs every
# test against a throwaway PostgreSQL; then again in an AddressSanitizer +
# UndefinedBehaviorSanitizer build; the threaded tests under ThreadSanitizer;
# then the fuzz targets for a fixed budget.
#   CREDVAULT_TEST_FAST=1 skips the sanitizer and fuzz stages (local iteration only).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "build (RelWithDebInfo) in build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

run_suite() {  # $1 = build dir, rest = extra ctest args
  local dir=$1; shift
  scripts/with-postgres.sh ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@"
}

step "tests: unit, CLI, PostgreSQL, interop (build/)"
run_suite build

if [ "${CREDVAULT_TEST_FAST:-0}" = 1 ]; then
  echo "CREDVAULT_TEST_FAST=1: sanitizer and fuzz stages not run"
  exit 0
fi

step "build with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCREDVAULT_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
step "tests under ASan+UBSan (label nosan excluded: the Python ctypes and find_package consumer tests load the library into non-sanitized processes; they ran above)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS="suppressions=$root/tests/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_suite build-asan -LE nosan

step "ThreadSanitizer build in build-tsan/: the threaded code (crypto pool, pipelined writers, connection pool) and the concurrency tests"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREDVAULT_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target credvault credvault_unit_tests credvault_pg_tests
# setarch -R: TSan's fixed shadow layout needs the address space unrandomized
# on kernels with high mmap entropy. The spawned CLI is the TSan build too.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" setarch "$(uname -m)" -R \
  build-tsan/tests/credvault_unit_tests --warn NoTests "[keys],[pool]"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" setarch "$(uname -m)" -R \
  scripts/with-postgres.sh build-tsan/tests/credvault_pg_tests --warn NoTests "[concurrency],[vault]"

step "fuzz targets (libFuzzer, clang) in build-fuzz/"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREDVAULT_FUZZ=ON -DCREDVAULT_TESTS=OFF >/dev/null
fuzz_targets=()
for corpus in tests/fuzz/corpus/*/; do fuzz_targets+=("fuzz_$(basename "$corpus")"); done
cmake --build build-fuzz -j"$jobs" --target "${fuzz_targets[@]}"
fuzz_runs=${CREDVAULT_FUZZ_RUNS:-50000}
for corpus in "$root"/tests/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/
  if ! "build-fuzz/tests/fuzz/fuzz_$name" -runs="$fuzz_runs" -print_final_stats=1 "$work" >"$work.log" 2>&1; then
    tail -n 60 "$work.log"
    echo "fuzz_$name FAILED" >&2
    exit 1
  fi
  echo "fuzz_$name: $(grep -E 'stat::number_of_executed_units' "$work.log" | awk '{print $2}') executions, no crash"
  rm -rf "$work" "$work.log"
done
echo "all stages passed"

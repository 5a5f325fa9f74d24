#!/usr/bin/env bash
# The whole story on a throwaway database: installs dependencies, builds the
# credvault binary in Release, starts a throwaway PostgreSQL (or uses
# DATABASE_URL), then runs credvault end to end and says what each step did;
# an application (the Python package) reads and writes during the rotation
# and prints its tally.
#   CREDVAULT_BUILD_DIR=DIR  use (and update) an existing build folder instead
#                            of build-release/ (its build type is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

build_dir="${CREDVAULT_BUILD_DIR:-build-release}"
log="$build_dir/demo-build.log"
mkdir -p "$build_dir"
if [ -f "$build_dir/CMakeCache.txt" ]; then
  echo "== updating the build of credvault in $build_dir/ (only what changed is rebuilt)"
else
  echo "== building credvault (Release) in $build_dir/: the first build takes about 5 minutes on 2 cores"
fi
echo "   compiler output goes to $log"

# The build's progress ("[ 42%]" or "[12/80]") as one updating line on a
# terminal, one line per tenth of the way otherwise.
progress() {
  if [ -t 1 ]; then
    awk '/^\[ *[0-9]+(%|\/[0-9]+)\]/ { printf "\r   building %s", substr($0, 1, index($0, "]")); fflush() }
         END { print "" }'
  else
    awk 'match($0, /^\[ *[0-9]+%\]/) { p = int(substr($0, 2) / 10) }
         match($0, /^\[[0-9]+\/[0-9]+\]/) { split(substr($0, 2, index($0, "]") - 2), a, "/"); p = int(10 * a[1] / a[2]) }
         p > shown { shown = p; print "   " p * 10 "% built"; fflush() }'
  fi
}

# Only the credvault binary is built: no test binaries, not the shared
# library (the demo's application is the pure-Python package). The settings
# are scripts/package.sh's, so a package built later reuses this folder.
build() {
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DCREDVAULT_TESTS=OFF -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON
  fi
  cmake --build "$build_dir" -j"$(nproc)" --target credvault
}
# pipefail: the pipeline fails when the build does.
if ! build </dev/null 2>&1 | tee "$log" | progress; then
  echo "demo: the build failed; the end of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
echo "== built $build_dir/credvault"

export CREDVAULT_BIN="$PWD/$build_dir/credvault"
CREDVAULT_TEST_NO_STANDBY=1 exec scripts/with-postgres.sh bash scripts/demo/run.sh

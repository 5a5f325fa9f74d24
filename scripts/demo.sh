#!/usr/bin/env bash
# The whole story on a throwaway database: installs dependencies, builds in
# Release, starts a throwaway PostgreSQL (or uses DATABASE_URL), then runs
# credvault end to end and says what each step did.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building credvault (Release) in build-release/"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target credvault >/dev/null
export CREDVAULT_BIN="$PWD/build-release/credvault"
exec scripts/with-postgres.sh bash scripts/demo/run.sh

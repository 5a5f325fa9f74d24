#!/usr/bin/env bash
# Performance report (targets in docs/ARCHITECTURE.md). Everything is measured in ONE run on this
# machine against a throwaway PostgreSQL, and reported as ratios to baselines
# measured in the same run (machines here are noisy; absolute numbers are not
# comparable across runs).
#
#   scripts/bench.sh [--rows N] [--skip-fernet]     (default N = 200000; the full run uses --rows 1000000)
#
# Measures: a server-side UPDATE rewriting the same three columns of the same
# rows (the physical limit), credvault encrypt / rotate / verify (rows/s, ratio
# to that baseline, peak RSS), rotate without the blind index column of
# client_id (schema at 20260215_0003) against rotate with it (head; target:
# ratio >= 0.9), the 20261207_0006 step indexing every client_id, rotate through PgBouncer in transaction mode
# (ratio to the direct rotate), a Python Fernet + psycopg2 batch rotation and
# decrypt of the same rows (the peer), GetCredentials latency, and the latency of
# find by client_id (Vault::FindAccountsByClientId; 1000 clients).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=200000
fernet=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --skip-fernet) fernet=0; shift ;;
    *) echo "usage: $0 [--rows N] [--skip-fernet]" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
echo "== building (Release) in build-release/" >&2
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCREDVAULT_TESTS=ON >/dev/null
cmake --build build-release -j"$(nproc)" --target credvault credvault_bench_latency >/dev/null
export CREDVAULT_BENCH_ROWS=$rows CREDVAULT_BENCH_FERNET=$fernet CREDVAULT_PG_DURABLE=1
# The throwaway server accepts TLS (scripts/with-postgres.sh) and libpq would
# prefer it; the README's numbers are measured without TLS, like-for-like.
export PGSSLMODE=${PGSSLMODE:-disable}
# No hot standby (the tests' replica-lag fixture): replaying the WAL on the
# same machine would slow the server being measured.
export CREDVAULT_TEST_NO_STANDBY=1
exec scripts/with-postgres.sh bash scripts/bench/run.sh

#!/usr/bin/env bash
# Runs a command with a PostgreSQL server to talk to.
#   - If DATABASE_URL is set, that server is used as is (it must be reachable:
#     a missing server is an error, never a skip).
#   - Otherwise a throwaway cluster is created with pg_virtualenv (PG* variables
#     point at it) and dropped when the command ends.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

if [ -n "${DATABASE_URL:-}" ]; then
  if ! psql "$(printf '%s' "$DATABASE_URL" | sed -E 's#^postgres(ql)?\+[a-z0-9_]+://#postgresql://#')" -Atqc 'select 1' >/dev/null 2>&1; then
    echo "with-postgres: DATABASE_URL is set but no server answers there" >&2
    exit 4
  fi
  exec "$@"
fi

command -v pg_virtualenv >/dev/null || { echo "with-postgres: pg_virtualenv not found (run scripts/setup.sh)" >&2; exit 4; }
# A throwaway cluster tuned for tests: durability is not needed, speed is.
# CREDVAULT_PG_DURABLE=1 keeps the defaults (scripts/bench.sh uses it).
# -t: a private temporary cluster directory even as root, so two runs (or a
# stale cluster left by a killed run) never collide on the shared "regress" name.
options=(-t)
if [ "${CREDVAULT_PG_DURABLE:-0}" != 1 ]; then
  options+=(-o fsync=off -o synchronous_commit=off -o full_page_writes=off)
fi
options+=(-o max_connections=200)
exec pg_virtualenv "${options[@]}" "$@"

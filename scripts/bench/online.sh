#!/usr/bin/env bash
# The online impact of a rotation, for scripts/bench.sh (inside its throwaway
# server, after scripts/bench/run.sh, with the same database and keys):
#   - an application's GetCredentials latency (p50/p99/max): idle, during an
#     unthrottled rotate, and during rotate --max-rate at half the
#     unthrottled rate;
#   - WAL written per row (pg_current_wal_lsn() before and after) by rotate
#     and by the server-side UPDATE baseline of the same three columns (and
#     the unthrottled rotate's rate as a ratio to that UPDATE's, both measured
#     here: the rotate shares the machine with the application).
# Usage: online.sh CREDVAULT ROWS KEY_A KEY_B   (the table's values under KEY_B)
# (CREDVAULT_BENCH_LATENCY: another build of tests/bench/vault_latency.cpp)
set -euo pipefail
cv=$1 rows=$2 key_a=$3 key_b=$4
: "${DATABASE_URL:?}" "${CREDVAULT_MIGRATIONS_DIR:?}"
latency_bin=${CREDVAULT_BENCH_LATENCY:-"$PWD/build-release/tests/credvault_bench_latency"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
lsn() { psql -Atc "SELECT pg_current_wal_lsn()"; }
wal_per_row() { psql -Atc "SELECT round(pg_wal_lsn_diff('$2', '$1') / $rows)"; }
field() { echo "$1" | sed -E "s/.*\"$2\": ([0-9.]+).*/\\1/"; }

# latency_during ROTATE_ARGS...: rotates (keys from the environment) while the
# application reads (ring: the new key and the old), and sets rot_rate,
# rot_wal (bytes per row) and lat (the latency JSON).
latency_during() {
  rm -f "$work/stop"
  # At least 100 calls, then until the job has ended (its first 200 calls,
  # not counted, warm it up while the job starts).
  "$latency_bin" "$DATABASE_URL" "$CREDVAULT_MIGRATIONS_DIR" "$rows" 100 "$work/stop" >"$work/lat" &
  local app=$! start end before after
  before=$(lsn)
  start=$(now)
  "$cv" -q rotate "$@" 2>"$work/err" || { cat "$work/err" >&2; kill "$app"; exit 1; }
  end=$(now)
  after=$(lsn)
  touch "$work/stop"
  wait "$app"
  lat=$(cat "$work/lat")
  rot_rate=$(echo "$rows / ($end - $start)" | bc -l | xargs printf '%.0f')
  rot_wal=$(wal_per_row "$before" "$after")
  psql -q -c "VACUUM ANALYZE credentials"
}

echo "== online impact: GetCredentials idle (20k calls)" >&2
psql -q -c "CHECKPOINT"
idle=$(SECRET_KEY=$key_b "$latency_bin" "$DATABASE_URL" "$CREDVAULT_MIGRATIONS_DIR" "$rows" 20000)

echo "== WAL of the server-side UPDATE baseline" >&2
psql -q -c "CHECKPOINT"
before=$(lsn)
start=$(now)
psql -q -c "BEGIN; UPDATE credentials SET client_id = client_id || '', client_secret = client_secret || '', refresh_token = refresh_token || ''; ROLLBACK;"
end=$(now)
after=$(lsn)
base_wal=$(wal_per_row "$before" "$after")
base_rate=$(echo "$rows / ($end - $start)" | bc -l | xargs printf '%.0f')
psql -q -c "VACUUM ANALYZE credentials"

echo "== online impact: rotate B -> A, unthrottled, an application reading" >&2
psql -q -c "CHECKPOINT"
SECRET_KEY=$key_a SECRET_KEY_FALLBACKS=$key_b latency_during
full_rate=$rot_rate full_wal=$rot_wal full_lat=$lat
half=$((full_rate / 2))
echo "== online impact: rotate A -> B --max-rate $half, an application reading" >&2
psql -q -c "CHECKPOINT"
SECRET_KEY=$key_b SECRET_KEY_FALLBACKS=$key_a latency_during --max-rate "$half"
half_rate=$rot_rate half_wal=$rot_wal half_lat=$lat

printf '\nonline impact (%s rows): the application'"'"'s GetCredentials latency, WAL per row\n' "$rows"
printf '%-40s %10s %10s %10s %10s\n' "while" "rows/s" "p50 us" "p99 us" "max us"
printf '%-40s %10s %10s %10s %10s\n' "idle" "-" "$(field "$idle" p50_us)" "$(field "$idle" p99_us)" "$(field "$idle" max_us)"
printf '%-40s %10s %10s %10s %10s\n' "rotate (unthrottled)" "$full_rate" "$(field "$full_lat" p50_us)" \
  "$(field "$full_lat" p99_us)" "$(field "$full_lat" max_us)"
printf '%-40s %10s %10s %10s %10s\n' "rotate --max-rate $half" "$half_rate" "$(field "$half_lat" p50_us)" \
  "$(field "$half_lat" p99_us)" "$(field "$half_lat" max_us)"
printf '%-40s %10s\n' "unthrottled rotate / baseline UPDATE" "$(echo "$full_rate / $base_rate" | bc -l | xargs printf '%.2f')"
printf '%-40s %10s\n' "p99 at half rate / idle p99" \
  "$(echo "$(field "$half_lat" p99_us) / $(field "$idle" p99_us)" | bc -l | xargs printf '%.2f')"
printf '%-40s %10s\n' "WAL bytes/row: baseline UPDATE" "$base_wal"
printf '%-40s %10s %10s\n' "WAL bytes/row: rotate, ratio" "$full_wal" "$(echo "$full_wal / $base_wal" | bc -l | xargs printf '%.2f')"
printf '%-40s %10s\n' "WAL bytes/row: rotate --max-rate" "$half_wal"
printf '{"idle": %s, "rotate": %s, "rotate_half_rate": %s, "baseline_rows_per_s": %s, "rotate_rows_per_s": %s, "half_rate_rows_per_s": %s, "wal_per_row_baseline": %s, "wal_per_row_rotate": %s, "wal_per_row_rotate_half": %s}\n' \
  "$idle" "$full_lat" "$half_lat" "$base_rate" "$full_rate" "$half_rate" "$base_wal" "$full_wal" "$half_wal"

#!/usr/bin/env bash
# The online impact of a rotation, for scripts/bench.sh (inside its throwaway
# server, after scripts/bench/run.sh, with the same database and keys):
#   - an application's GetCredentials latency as a service measures it:
#     open-loop at 400 calls/s (Poisson arrivals, one connection), each
#     call's latency from its scheduled time (tests/bench/vault_latency.cpp),
#     p50/p99/p99.9/max: idle, during an unthrottled rotate, during rotate
#     --max-rate at half the unthrottled rate, and during rotate
#     --max-latency at twice the idle p99; each p99 as a ratio to idle;
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
app_rate=400
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
lsn() { psql -Atc "SELECT pg_current_wal_lsn()"; }
wal_per_row() { psql -Atc "SELECT round(pg_wal_lsn_diff('$2', '$1') / $rows)"; }
field() { echo "$1" | sed -E "s/.*\"$2\": ([0-9.]+).*/\\1/"; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }

# latency_during ROTATE_ARGS...: rotates (keys from the environment) while the
# application reads (ring: the new key and the old), and sets rot_rate,
# rot_wal (bytes per row) and lat (the latency JSON).
latency_during() {
  rm -f "$work/stop"
  # At least 400 calls, then until the job has ended (the first 200 calls,
  # not counted, warm it up while the job starts).
  "$latency_bin" "$DATABASE_URL" "$CREDVAULT_MIGRATIONS_DIR" "$rows" 400 "$work/stop" "$app_rate" >"$work/lat" &
  local app=$! start end before after
  sleep 0.5
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

echo "== online impact: GetCredentials idle (open-loop, $app_rate calls/s, 8000 calls)" >&2
psql -q -c "CHECKPOINT"
idle=$(SECRET_KEY=$key_b "$latency_bin" "$DATABASE_URL" "$CREDVAULT_MIGRATIONS_DIR" "$rows" 8000 - "$app_rate")

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
SECRET_KEY=$key_a SECRET_KEY_FALLBACKS=$key_b latency_during --max-latency 0
full_rate=$rot_rate full_wal=$rot_wal full_lat=$lat
half=$((full_rate / 2))
echo "== online impact: rotate A -> B --max-rate $half, an application reading" >&2
psql -q -c "CHECKPOINT"
SECRET_KEY=$key_b SECRET_KEY_FALLBACKS=$key_a latency_during --max-rate "$half"
half_rate=$rot_rate half_wal=$rot_wal half_lat=$lat
# Twice the idle p99, in milliseconds (at least 0.1).
target_ms=$(echo "$(field "$idle" p99_us) * 2 / 1000" | bc -l | xargs printf '%.2f')
target_ms=$(echo "if ($target_ms < 0.1) 0.1 else $target_ms" | bc -l | xargs printf '%.2f')
echo "== online impact: rotate B -> A --max-latency $target_ms (2x the idle p99), an application reading" >&2
psql -q -c "CHECKPOINT"
SECRET_KEY=$key_a SECRET_KEY_FALLBACKS=$key_b latency_during --max-latency "$target_ms"
paced_rate=$rot_rate paced_lat=$lat
# Back under B, as run.sh left it.
SECRET_KEY=$key_b SECRET_KEY_FALLBACKS=$key_a "$cv" -q rotate --max-latency 0
psql -q -c "VACUUM ANALYZE credentials"

idle_p99=$(field "$idle" p99_us)
row() {  # LABEL RATE JSON
  printf '%-36s %9s %9s %9s %9s %9s %9s\n' "$1" "$2" "$(field "$3" p50_us)" "$(field "$3" p99_us)" \
    "$(field "$3" p999_us)" "$(field "$3" max_us)" "$(ratio "$(field "$3" p99_us)" "$idle_p99")"
}
printf '\nonline impact (%s rows): the application'"'"'s GetCredentials latency, open-loop at %s calls/s\n' "$rows" "$app_rate"
printf '%-36s %9s %9s %9s %9s %9s %9s\n' "while" "rows/s" "p50 us" "p99 us" "p99.9 us" "max us" "p99/idle"
row "idle" "-" "$idle"
row "rotate (unthrottled)" "$full_rate" "$full_lat"
row "rotate --max-rate $half" "$half_rate" "$half_lat"
row "rotate --max-latency $target_ms" "$paced_rate" "$paced_lat"
printf '%-36s %9s\n' "--max-latency rows/s / unthrottled" "$(ratio "$paced_rate" "$full_rate")"
printf '%-36s %9s\n' "unthrottled rotate / baseline UPDATE" "$(ratio "$full_rate" "$base_rate")"
printf '%-36s %9s\n' "WAL bytes/row: baseline UPDATE" "$base_wal"
printf '%-36s %9s %9s\n' "WAL bytes/row: rotate, ratio" "$full_wal" "$(ratio "$full_wal" "$base_wal")"
printf '%-36s %9s\n' "WAL bytes/row: rotate --max-rate" "$half_wal"
printf '{"idle": %s, "rotate": %s, "rotate_half_rate": %s, "rotate_max_latency": %s, "max_latency_ms": %s, "baseline_rows_per_s": %s, "rotate_rows_per_s": %s, "half_rate_rows_per_s": %s, "max_latency_rows_per_s": %s, "wal_per_row_baseline": %s, "wal_per_row_rotate": %s, "wal_per_row_rotate_half": %s}\n' \
  "$idle" "$full_lat" "$half_lat" "$paced_lat" "$target_ms" "$base_rate" "$full_rate" "$half_rate" "$paced_rate" \
  "$base_wal" "$full_wal" "$half_wal"

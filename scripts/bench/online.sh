#!/usr/bin/env bash
# The online impact of a rotation, for scripts/bench.sh (inside its throwaway
# server, after scripts/bench/run.sh, with the same database and keys):
#   - an application's GetCredentials latency as a service measures it:
#     open-loop at 400 calls/s (Poisson arrivals, one connection), each
#     call's latency from its scheduled time (tests/bench/vault_latency.cpp),
#     p50/p99/p99.9/max: idle (as many runs as each rotation, interleaved
#     with the floor below), during an unthrottled rotate, during rotate
#     --max-rate at half the unthrottled rate, and during rotate
#     --max-latency at twice the idle p99; each p99 as a ratio to idle;
#   - the machine's own floor: the same reads beside one and beside two shell
#     loops spinning at the lowest CPU priority (SCHED_IDLE), work that needs no
#     database and that every scheduler priority ranks below the application;
#   - WAL written per row (pg_current_wal_lsn() before and after) by rotate
#     and by the server-side UPDATE baseline of the same three columns (and
#     the unthrottled rotate's rate as a ratio to that UPDATE's, both measured
#     here: the rotate shares the machine with the application).
# Usage: online.sh CREDVAULT ROWS KEY_A KEY_B   (the table's values under KEY_B)
# (CREDVAULT_BENCH_LATENCY: another build of tests/bench/vault_latency.cpp;
#  CREDVAULT_BENCH_ONLINE_RUNS: runs per rotation, default 3, the median shown)
set -euo pipefail
cv=$1 rows=$2 key_a=$3 key_b=$4
: "${DATABASE_URL:?}" "${CREDVAULT_MIGRATIONS_DIR:?}"
latency_bin=${CREDVAULT_BENCH_LATENCY:-"$PWD/build-release/tests/credvault_bench_latency"}
app_rate=400
runs=${CREDVAULT_BENCH_ONLINE_RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
lsn() { psql -Atc "SELECT pg_current_wal_lsn()"; }
wal_per_row() { psql -Atc "SELECT round(pg_wal_lsn_diff('$2', '$1') / $rows)"; }
field() { echo "$1" | sed -E "s/.*\"$2\": ([0-9.]+).*/\\1/"; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }

# latency_during ROTATE_ARGS...: rotates to the other key while the
# application reads (ring: the new key and the old), and sets rot_rate,
# rot_wal (bytes per row) and lat (the latency JSON). Each run starts from a
# checkpoint, so that runs compare alike.
under=b  # the key the values are under now
latency_during() {
  local new=a old=b
  if [ "$under" = a ]; then new=b old=a; fi
  local new_key old_key
  new_key=$(key_of "$new") old_key=$(key_of "$old")
  psql -q -c "CHECKPOINT"
  rm -f "$work/stop"
  # At least 400 calls, then until the job has ended (the first 200 calls,
  # not counted, warm it up while the job starts).
  SECRET_KEY=$new_key SECRET_KEY_FALLBACKS=$old_key \
    "$latency_bin" "$DATABASE_URL" "$CREDVAULT_MIGRATIONS_DIR" "$rows" 400 "$work/stop" "$app_rate" >"$work/lat" &
  local app=$! start end before after
  sleep 0.5
  before=$(lsn)
  start=$(now)
  SECRET_KEY=$new_key SECRET_KEY_FALLBACKS=$old_key "$cv" -q rotate "$@" 2>"$work/err" ||
    { cat "$work/err" >&2; kill "$app"; exit 1; }
  end=$(now)
  after=$(lsn)
  touch "$work/stop"
  wait "$app"
  under=$new
  lat=$(cat "$work/lat")
  rot_rate=$(echo "$rows / ($end - $start)" | bc -l | xargs printf '%.0f')
  rot_wal=$(wal_per_row "$before" "$after")
  psql -q -c "VACUUM ANALYZE credentials"
}
key_of() { if [ "$1" = a ]; then echo "$key_a"; else echo "$key_b"; fi; }

# scenario LABEL ROTATE_ARGS...: latency_during, $runs times (one machine's
# latency tail varies a lot from run to run); sets rot_rate, rot_wal and lat
# to the run with the median p99, and spread to "lowest-highest" p99 (us).
scenario() {
  local label=$1
  shift
  echo "== online impact: rotate $label, an application reading ($runs runs)" >&2
  local i results=()
  for ((i = 1; i <= runs; i++)); do
    latency_during "$@"
    results+=("$(field "$lat" p99_us) $rot_rate $rot_wal $lat")
  done
  local sorted median
  sorted=$(printf '%s\n' "${results[@]}" | sort -n -k1,1)
  median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
  read -r _ rot_rate rot_wal lat <<<"$median"
  spread="$(echo "$sorted" | head -1 | cut -d' ' -f1)-$(echo "$sorted" | tail -1 | cut -d' ' -f1)"
}

# spinning N: the application's latency (4000 calls) beside N loops spinning
# at the idle priority (N = 0: idle), the floor any job's CPU work sets here.
spinning() {
  local pids=() i
  for ((i = 0; i < $1; i++)); do
    chrt --idle 0 sh -c 'while :; do :; done' &
    pids+=($!)
  done
  SECRET_KEY=$key_b "$latency_bin" "$DATABASE_URL" "$CREDVAULT_MIGRATIONS_DIR" "$rows" 4000 - "$app_rate"
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}"
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
# Idle and the floor: $runs rounds of idle, one loop, two loops, interleaved,
# each the run with the median p99. Every ratio below divides by the idle p99,
# so it is measured as often as the rotations (one idle run of 3.6 ms against
# 1.4-2.4 ms in the others halved every ratio of a run).
echo "== online impact: GetCredentials idle, beside one and beside two idle-priority spinning loops ($runs rounds)" >&2
psql -q -c "CHECKPOINT"
declare -A beside=()
for ((round = 1; round <= runs; round++)); do
  for loops in 0 1 2; do
    out=$(spinning "$loops")
    beside[$loops]+="$(field "$out" p99_us) $out"$'\n'
  done
done
median_of() { printf '%s' "$1" | sort -n -k1,1 | sed -n "$(((runs + 1) / 2))p" | cut -d' ' -f2-; }
spread_of() {
  local sorted
  sorted=$(printf '%s' "$1" | sort -n -k1,1)
  echo "$(echo "$sorted" | head -1 | cut -d' ' -f1)-$(echo "$sorted" | tail -1 | cut -d' ' -f1)"
}
idle=$(median_of "${beside[0]}") idle_spread=$(spread_of "${beside[0]}")
spin_one=$(median_of "${beside[1]}") spin_one_spread=$(spread_of "${beside[1]}")
spin_two=$(median_of "${beside[2]}") spin_two_spread=$(spread_of "${beside[2]}")

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

scenario "unthrottled" --max-latency 0
full_rate=$rot_rate full_wal=$rot_wal full_lat=$lat full_spread=$spread
half=$((full_rate / 2))
scenario "--max-rate $half" --max-rate "$half"
half_rate=$rot_rate half_wal=$rot_wal half_lat=$lat half_spread=$spread
# Twice the idle p99, in milliseconds (at least 0.1).
target_ms=$(echo "$(field "$idle" p99_us) * 2 / 1000" | bc -l | xargs printf '%.2f')
target_ms=$(echo "if ($target_ms < 0.1) 0.1 else $target_ms" | bc -l | xargs printf '%.2f')
scenario "--max-latency $target_ms (2x the idle p99)" --max-latency "$target_ms"
paced_rate=$rot_rate paced_lat=$lat paced_spread=$spread
# Back under B, as run.sh left it.
if [ "$under" = a ]; then
  SECRET_KEY=$key_b SECRET_KEY_FALLBACKS=$key_a "$cv" -q rotate --max-latency 0
  psql -q -c "VACUUM ANALYZE credentials"
fi

idle_p99=$(field "$idle" p99_us)
row() {  # LABEL RATE JSON [P99_SPREAD]
  printf '%-36s %9s %9s %9s %9s %9s %9s  %s\n' "$1" "$2" "$(field "$3" p50_us)" "$(field "$3" p99_us)" \
    "$(field "$3" p999_us)" "$(field "$3" max_us)" "$(ratio "$(field "$3" p99_us)" "$idle_p99")" "${4:-}"
}
printf '\nonline impact (%s rows): the application'"'"'s GetCredentials latency, open-loop at %s calls/s\n' "$rows" "$app_rate"
printf '%-36s %9s %9s %9s %9s %9s %9s  %s\n' "while (median of $runs runs by p99)" "rows/s" "p50 us" "p99 us" \
  "p99.9 us" "max us" "p99/idle" "p99 range us"
row "idle" "-" "$idle" "$idle_spread"
row "idle + 1 core spinning (idle prio)" "-" "$spin_one" "$spin_one_spread"
row "idle + 2 cores spinning (idle prio)" "-" "$spin_two" "$spin_two_spread"
row "rotate (unthrottled)" "$full_rate" "$full_lat" "$full_spread"
row "rotate --max-rate $half" "$half_rate" "$half_lat" "$half_spread"
row "rotate --max-latency $target_ms" "$paced_rate" "$paced_lat" "$paced_spread"
printf '%-36s %9s\n' "--max-latency rows/s / unthrottled" "$(ratio "$paced_rate" "$full_rate")"
printf '%-36s %9s\n' "unthrottled rotate / baseline UPDATE" "$(ratio "$full_rate" "$base_rate")"
printf '%-36s %9s\n' "WAL bytes/row: baseline UPDATE" "$base_wal"
printf '%-36s %9s %9s\n' "WAL bytes/row: rotate, ratio" "$full_wal" "$(ratio "$full_wal" "$base_wal")"
printf '%-36s %9s\n' "WAL bytes/row: rotate --max-rate" "$half_wal"
printf '{"idle": %s, "spin_one_core": %s, "spin_two_cores": %s, "rotate": %s, "rotate_half_rate": %s, "rotate_max_latency": %s, "max_latency_ms": %s, "baseline_rows_per_s": %s, "rotate_rows_per_s": %s, "half_rate_rows_per_s": %s, "max_latency_rows_per_s": %s, "wal_per_row_baseline": %s, "wal_per_row_rotate": %s, "wal_per_row_rotate_half": %s}\n' \
  "$idle" "$spin_one" "$spin_two" "$full_lat" "$half_lat" "$paced_lat" "$target_ms" "$base_rate" "$full_rate" "$half_rate" "$paced_rate" \
  "$base_wal" "$full_wal" "$half_wal"

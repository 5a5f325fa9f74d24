#!/usr/bin/env bash
# The measurements of scripts/bench.sh, inside the throwaway server.
set -euo pipefail
rows=${CREDVAULT_BENCH_ROWS:?}
cv="$PWD/build-release/credvault"
work=$(mktemp -d)
db="credvault_bench_$$"
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export DATABASE_URL="dbname=$db" PGDATABASE="$db" CREDVAULT_ENV=staging CREDVAULT_MIGRATIONS_DIR="$PWD/migrations"
key_a=$("$cv" keygen); key_b=$("$cv" keygen)

now() { date +%s.%N; }
# run LABEL CMD... : wall seconds and peak RSS (KiB) of CMD into $secs / $rss
run() {
  local start end
  start=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  end=$(now)
  secs=$(echo "$end - $start" | bc -l); rss=$(cat "$work/rss")
}
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }

echo "== $rows rows of realistic plaintext credentials" >&2
SECRET_KEY=$key_a "$cv" -q migrate --to 20260215_0001
psql -q <<SQL
INSERT INTO accounts (amazon_account_id) SELECT 'A' || g FROM generate_series(1, $rows) g;
INSERT INTO credentials (account_id, client_id, client_secret, refresh_token)
SELECT id, 'amzn1.application-oa2-client.' || md5((id % 1000)::text),  -- 1000 clients, as accounts 1..1000
       'amzn1.oa2-cs.v1.' || md5('s' || id) || md5('t' || id),
       'Atzr|IwEBI' || substr(repeat(md5('r' || id), 10), 1, 295)
FROM accounts;
VACUUM ANALYZE credentials;
SQL

baseline() {  # the same rewrite done by the server alone, then undone
  local start end
  start=$(now)
  psql -q -c "BEGIN; UPDATE credentials SET client_id = client_id || '', client_secret = client_secret || '', refresh_token = refresh_token || ''; ROLLBACK;"
  end=$(now)
  psql -q -c "VACUUM credentials"
  echo "$end - $start" | bc -l
}

echo "== baseline: server-side UPDATE of the three columns" >&2
base_secs=$(baseline); base_rate=$(rate "$rows" "$base_secs")
echo "== encrypt (migrate to 20260215_0003: the 20260215_0002 data step, before the client_id index exists)" >&2
SECRET_KEY=$key_a run "$cv" -q migrate --to 20260215_0003; enc_secs=$secs enc_rss=$rss enc_rate=$(rate "$rows" "$secs")
psql -q -c "VACUUM ANALYZE credentials"
echo "== baseline again, on ciphertext-sized rows" >&2
base2_secs=$(baseline); base2_rate=$(rate "$rows" "$base2_secs")
# rotate twice on the same rows: without the blind index column of client_id
# (the schema at 20260215_0003: every index-free column rewrite can be a HOT
# update) and with it (at head: client_id_bidx changes with client_id and is
# indexed, so every update is non-HOT and adds an entry to every index).
echo "== rotate without the client_id index column (A -> B, schema at 20260215_0003)" >&2
SECRET_KEY=$key_b SECRET_KEY_FALLBACKS=$key_a run "$cv" -q rotate; noidx_rate=$(rate "$rows" "$secs")
psql -q -c "VACUUM ANALYZE credentials"
echo "== migrate to head: 20261207_0004-0006 add client_id_bidx, its indexes, and index every client_id" >&2
SECRET_KEY=$key_b SECRET_KEY_FALLBACKS=$key_a run "$cv" -q migrate; idx_step_rate=$(rate "$rows" "$secs")
psql -q -c "VACUUM ANALYZE credentials"
# The UPDATE again, on the table rotate is about to rewrite: with the
# client_id index, which each rewritten row adds an entry to (a full table's
# rewrite is not HOT), so rotate at head is compared with its own physical limit.
echo "== baseline again, at head (with the client_id index)" >&2
base3_secs=$(baseline); base3_rate=$(rate "$rows" "$base3_secs")
echo "== rotate with the client_id index (B -> A)" >&2
SECRET_KEY=$key_a SECRET_KEY_FALLBACKS=$key_b run "$cv" -q rotate; rot_secs=$secs rot_rss=$rss rot_rate=$(rate "$rows" "$secs")
psql -q -c "VACUUM ANALYZE credentials"
echo "== rotate through PgBouncer in transaction mode (A -> B), for verify and the peer" >&2
: "${CREDVAULT_TEST_POOLER_HOST:?scripts/with-postgres.sh starts the pooler}" "${CREDVAULT_TEST_POOLER_PORT:?}"
pooled_url="host=$CREDVAULT_TEST_POOLER_HOST port=$CREDVAULT_TEST_POOLER_PORT dbname=$db"
DATABASE_URL=$pooled_url SECRET_KEY=$key_b SECRET_KEY_FALLBACKS=$key_a run "$cv" -q rotate
pooled_rate=$(rate "$rows" "$secs") pooled_rss=$rss
psql -q -c "VACUUM ANALYZE credentials"
echo "== verify" >&2
values=$(psql -Atc "SELECT count(client_id) + count(client_secret) + count(refresh_token) FROM credentials")
SECRET_KEY=$key_b run "$cv" -q verify; ver_rss=$rss ver_rate=$(rate "$values" "$secs")
echo "== GetCredentials latency (open-loop, 400 calls/s, 4000 calls)" >&2
latency=$(SECRET_KEY=$key_b build-release/tests/credvault_bench_latency "dbname=$db" "$PWD/migrations" "$rows" 4000)
p50=$(echo "$latency" | sed -E 's/.*"p50_us": ([0-9.]+).*/\1/'); p99=$(echo "$latency" | sed -E 's/.*"p99_us": ([0-9.]+).*/\1/')

# 50 calls/s: a lookup returns every account of a client (rows / 1000 of
# them), a few milliseconds each on a small server; at the 400 calls/s of
# GetCredentials one connection could not keep up and the queue, not the
# call, would be measured.
echo "== find by client_id (open-loop, 50 calls/s, 1000 calls; 1000 clients of $((rows / 1000)) accounts each)" >&2
find_latency=$(SECRET_KEY=$key_b CREDVAULT_BENCH_FIND_CLIENTS=1000 \
  build-release/tests/credvault_bench_latency "dbname=$db" "$PWD/migrations" "$rows" 1000 - 50)
find_p50=$(echo "$find_latency" | sed -E 's/.*"p50_us": ([0-9.]+).*/\1/'); find_p99=$(echo "$find_latency" | sed -E 's/.*"p99_us": ([0-9.]+).*/\1/')

fernet_rot_rate=0 fernet_dec_rate=0
if [ "${CREDVAULT_BENCH_FERNET:-1}" = 1 ]; then
  echo "== Python Fernet + psycopg2: setup (not timed), rotation, decrypt" >&2
  SECRET_KEY=$key_b "$cv" -q decrypt --yes --env development 2>/dev/null || true  # the peer starts from plaintext
  /usr/bin/python3 scripts/bench/fernet_peer.py setup
  run /usr/bin/python3 scripts/bench/fernet_peer.py rotate; fernet_rot_rate=$(rate "$rows" "$secs")
  run /usr/bin/python3 scripts/bench/fernet_peer.py decrypt; fernet_dec_rate=$(rate "$(cat "$work/out")" "$secs")
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
pgv=$(psql -Atc "SHOW server_version")
printf '\ncredvault bench: %s rows, %s cores (%s), PostgreSQL %s, durable settings\n' "$rows" "$(nproc)" "$cpu" "$pgv"
printf '%-34s %12s %10s %10s\n' "measurement" "rows/s" "ratio" "peak RSS"
printf '%-34s %12s %10s %10s\n' "baseline UPDATE (plaintext rows)" "$base_rate" "1.00" "-"
printf '%-34s %12s %10s %10s\n' "encrypt" "$enc_rate" "$(ratio "$enc_rate" "$base_rate")" "$((enc_rss / 1024)) MB"
printf '%-34s %12s %10s %10s\n' "baseline UPDATE (ciphertext rows)" "$base2_rate" "1.00" "-"
printf '%-34s %12s %10s %10s\n' "rotate without client_id index" "$noidx_rate" "$(ratio "$noidx_rate" "$base2_rate")" "-"
printf '%-34s %12s\n' "index existing client_ids (0006)" "$idx_step_rate"
printf '%-34s %12s %10s %10s\n' "baseline UPDATE (at head)" "$base3_rate" "1.00" "-"
printf '%-34s %12s %10s %10s\n' "rotate" "$rot_rate" "$(ratio "$rot_rate" "$base3_rate")" "$((rot_rss / 1024)) MB"
printf '%-34s %12s\n' "rotate with client_id index / without" "$(ratio "$rot_rate" "$noidx_rate")"
printf '%-34s %12s %10s %10s\n' "rotate through PgBouncer" "$pooled_rate" "$(ratio "$pooled_rate" "$base3_rate")" "$((pooled_rss / 1024)) MB"
printf '%-34s %12s\n' "pooled / direct rotate" "$(ratio "$pooled_rate" "$rot_rate")"
printf '%-34s %12s %10s %10s\n' "verify (values/s)" "$ver_rate" "-" "$((ver_rss / 1024)) MB"
if [ "$fernet_rot_rate" != 0 ]; then
  printf '%-34s %12s %10s %10s\n' "Fernet+psycopg2 rotation" "$fernet_rot_rate" "$(ratio "$fernet_rot_rate" "$base2_rate")" "-"
  printf '%-34s %12s\n' "rotate speed-up over Fernet" "$(ratio "$rot_rate" "$fernet_rot_rate")x"
  printf '%-34s %12s\n' "Fernet decrypt (values/s)" "$fernet_dec_rate"
  printf '%-34s %12s\n' "decrypt speed-up over Fernet" "$(ratio "$ver_rate" "$fernet_dec_rate")x"
fi
printf '%-34s %12s\n' "GetCredentials p50 (us)" "$p50"
printf '%-34s %12s\n' "GetCredentials p99 (us)" "$p99"
printf '%-34s %12s\n' "find by client_id p50 (us)" "$find_p50"
printf '%-34s %12s\n' "find by client_id p99 (us)" "$find_p99"
printf '{"rows": %s, "baseline_rows_per_s": %s, "encrypt_rows_per_s": %s, "encrypt_ratio": %s, "encrypt_rss_kb": %s, "baseline_ciphertext_rows_per_s": %s, "baseline_head_rows_per_s": %s, "rotate_rows_per_s": %s, "rotate_ratio": %s, "rotate_rss_kb": %s, "pooled_rotate_rows_per_s": %s, "pooled_vs_direct": %s, "verify_values_per_s": %s, "verify_rss_kb": %s, "rotate_without_index_rows_per_s": %s, "rotate_index_ratio": %s, "fernet_rotate_rows_per_s": %s, "rotate_vs_fernet": %s, "fernet_decrypt_values_per_s": %s, "p50_us": %s, "p99_us": %s, "find_p50_us": %s, "find_p99_us": %s}\n' \
  "$rows" "$base_rate" "$enc_rate" "$(ratio "$enc_rate" "$base_rate")" "$enc_rss" "$base2_rate" "$base3_rate" "$rot_rate" \
  "$(ratio "$rot_rate" "$base3_rate")" "$rot_rss" "$pooled_rate" "$(ratio "$pooled_rate" "$rot_rate")" "$ver_rate" "$ver_rss" "$noidx_rate" "$(ratio "$rot_rate" "$noidx_rate")" "$fernet_rot_rate" \
  "$( [ "$fernet_rot_rate" != 0 ] && ratio "$rot_rate" "$fernet_rot_rate" || echo 0)" "$fernet_dec_rate" "$p50" "$p99" "$find_p50" "$find_p99"

# The Python package (python/): decrypt rate, Fernet on the same values, AsyncVault latency.
echo "== Python package: Keyring.decrypt, Fernet decrypt, AsyncVault latency" >&2
SECRET_KEY=$key_b "$cv" -q encrypt  # the Fernet block leaves plaintext; re-runnable
SECRET_KEY=$key_b PYTHONPATH="$PWD/python/src" /usr/bin/python3 scripts/bench/python_bench.py "$PWD/migrations"

# The online impact of rotate: the application's latency idle / during rotate
# / during rotate --max-rate, and WAL per row against the baseline UPDATE.
SECRET_KEY=$key_b "$cv" -q encrypt  # (again: the Python block may leave plaintext)
bash scripts/bench/online.sh "$cv" "$rows" "$key_a" "$key_b"

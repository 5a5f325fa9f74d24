#!/usr/bin/env bash
# The demo flow itself; scripts/demo.sh runs it against a throwaway server.
# Every command that changes or reads something is echoed before it runs, with
# the settings it uses shown once at the top, so each one can be retyped
# against another database.
set -euo pipefail
cv="${CREDVAULT_BIN:?}"
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="credvault_demo_$$"
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cd "$here"

# Bold headings on a terminal only: no escape codes in files and pipes.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '   (%s)\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# psql without a pager (output never waits for a key) and without ~/.psqlrc.
export PAGER=cat
sql() { psql -X -P pager=off -v ON_ERROR_STOP=1 "$@"; }

say "0. the settings every command below uses"
printf '$ export DATABASE_URL=%q\n' "dbname=$db"
export DATABASE_URL="dbname=$db"
note "host, port and user come from libpq's PG* variables; status shows what they resolve to"
note "CREDVAULT_ENV is not set: the environment is production, the default"
run "$cv" status

say "1. keygen: a new primary key in a 0600 file (the key itself is never printed)"
run "$cv" keygen --out "$work/primary.key"

say "2. migrate the schema to 20260215_0001 (the Alembic-era schema)"
run "$cv" --key-file "$work/primary.key" migrate --to 20260215_0001
run "$cv" current

say "3. load 2000 sample accounts with PLAINTEXT credentials, as the old Python stack left them"
load_sql=$(cat <<'SQL'
INSERT INTO accounts (amazon_account_id, name, region, status)
SELECT 'A' || lpad(g::text, 10, '0'), 'Demo account ' || g, 'NA', 'active' FROM generate_series(1, 2000) g;
INSERT INTO credentials (account_id, client_id, client_secret, refresh_token)
SELECT id, 'amzn1.application-oa2-client.' || md5(id::text),
       'amzn1.oa2-cs.v1.' || md5('s' || id) || md5('t' || id),
       'Atzr|IwEB' || repeat(md5('r' || id), 9)
FROM accounts;
SQL
)
printf '$ psql "$DATABASE_URL" <<SQL\n%s\nSQL\n' "$load_sql"
sql -q "$DATABASE_URL" <<<"$load_sql"
peek_sql="SELECT account_id, left(refresh_token, 40) || '…' AS refresh_token FROM credentials WHERE account_id = 1"
printf '$ psql "$DATABASE_URL" -c "%s"\n' "$peek_sql"
sql "$DATABASE_URL" -c "$peek_sql"

say "4. migrate to head: runs the encrypt data step of 20260215_0002"
run "$cv" --key-file "$work/primary.key" migrate
run "$cv" current
printf '$ psql "$DATABASE_URL" -c "%s"\n' "$peek_sql"
sql "$DATABASE_URL" -c "$peek_sql"

say "5. get: what an application reads (secrets masked), then --reveal for the full values"
run "$cv" --key-file "$work/primary.key" get --account 1
note "--reveal prints the secrets in full: demo data here; on a real account mind who sees your terminal"
run "$cv" --key-file "$work/primary.key" get --account 1 --reveal

say "6. rotate SECRET_KEY: new primary, old key as fallback, while an application reads and writes"
run "$cv" keygen --out "$work/next.key"
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" keys
note "the application (scripts/demo/app.py, the Python package in python/) runs with the same two keys, as it is deployed before a rotation"
/usr/bin/python3 scripts/demo/app.py "$here/migrations" 2000 "$work/next.key" "$work/primary.key" \
  "$work/app.ready" "$work/app.stop" "$work/app.rotating" &
app=$!
for _ in $(seq 300); do [ -e "$work/app.ready" ] || ! kill -0 "$app" 2>/dev/null && break; sleep 0.1; done
[ -e "$work/app.ready" ] || { echo "demo: the application did not start" >&2; exit 1; }
note "batches of 50 rows here, so that 2000 rows take long enough for the application to overlap; the default is 5000"
touch "$work/app.rotating"
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" \
  --metrics-file "$work/credvault.prom" rotate --batch-size 50
rm "$work/app.rotating"
touch "$work/app.stop"
wait "$app"
note "the same rotate again: it finds nothing left to do and writes nothing, so after an interruption you simply rerun it"
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" rotate

say "7. verify with the new key alone, and the inventory"
run "$cv" --key-file "$work/next.key" verify
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" --metrics-file "$work/credvault.prom" keys
run "$cv" --key-file "$work/next.key" get --account 1

say "8. what monitoring sees: --metrics-file (Prometheus text format, for node_exporter's textfile collector)"
printf "\$ grep -E '%s' credvault.prom\n" '^credvault_(values|command_exit_code|job_rows_processed_total)'
grep -E '^credvault_(values|command_exit_code|job_rows_processed_total)' "$work/credvault.prom"
note "the old key's values are at 0: an alert on credvault_values{kid=\"<old kid>\"} > 0 after a rotation catches an unfinished one"

say "demo complete: plaintext → encrypted → rotated → verified, while the application kept reading and writing"

#!/usr/bin/env bash
# The demo flow itself; scripts/demo.sh runs it against a throwaway server.
set -euo pipefail
cv="${CREDVAULT_BIN:?}"
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="credvault_demo_$$"
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export DATABASE_URL="dbname=$db" PGDATABASE="$db"
export CREDVAULT_ENV=development
cd "$here"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1. keygen: a new primary key in a 0600 file (the key itself is never printed)"
run "$cv" keygen --out "$work/primary.key"

say "2. migrate the schema to 20260215_0001 (the Alembic-era schema)"
run "$cv" --key-file "$work/primary.key" migrate --to 20260215_0001
run "$cv" current

say "3. load 2000 sample accounts with PLAINTEXT credentials, as the old Python stack left them"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO accounts (amazon_account_id, name, region, status)
SELECT 'A' || lpad(g::text, 10, '0'), 'Demo account ' || g, 'NA', 'active' FROM generate_series(1, 2000) g;
INSERT INTO credentials (account_id, client_id, client_secret, refresh_token)
SELECT id, 'amzn1.application-oa2-client.' || md5(id::text),
       'amzn1.oa2-cs.v1.' || md5('s' || id) || md5('t' || id),
       'Atzr|IwEB' || repeat(md5('r' || id), 9)
FROM accounts;
SQL
psql -Atc "SELECT 'credentials.refresh_token of account 1 (plaintext): ' || left(refresh_token, 24) || '…' FROM credentials WHERE account_id = 1"

say "4. migrate to head: runs the encrypt data step of 20260215_0002"
run "$cv" --key-file "$work/primary.key" migrate
run "$cv" current
psql -Atc "SELECT 'credentials.refresh_token of account 1 (now): ' || left(refresh_token, 40) || '…' FROM credentials WHERE account_id = 1"

say "5. get: what an application reads (masked; --reveal prints it)"
run "$cv" --key-file "$work/primary.key" get --account 1

say "6. rotate SECRET_KEY: new primary, old key as fallback"
run "$cv" keygen --out "$work/next.key"
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" keys
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" rotate
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" rotate

say "7. verify with the new key alone, and the inventory"
run "$cv" --key-file "$work/next.key" verify
run "$cv" --key-file "$work/next.key" --fallback-key-file "$work/primary.key" keys
run "$cv" --key-file "$work/next.key" get --account 1

say "demo complete: plaintext → encrypted → rotated → verified, applications never stopped"

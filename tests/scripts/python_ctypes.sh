#!/usr/bin/env bash
# The C ABI from Python (ctypes): open, put, get, zeroizing free, errors.
set -euo pipefail
: "${CREDVAULT_CLI:?}" "${CREDVAULT_LIB:?}" "${CREDVAULT_SOURCE_DIR:?}"
db="cvctypes_$$_$RANDOM"
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
key=$("$CREDVAULT_CLI" keygen)
DATABASE_URL="dbname=$db" SECRET_KEY="$key" "$CREDVAULT_CLI" --env staging \
  --migrations-dir "$CREDVAULT_SOURCE_DIR/migrations" migrate -q
psql -qd "$db" -c "INSERT INTO accounts (amazon_account_id) VALUES ('A1'), ('A2')"
CV_KEY="$key" CV_DB="dbname=$db" /usr/bin/python3 "$CREDVAULT_SOURCE_DIR/tests/scripts/python_ctypes.py"

#!/usr/bin/env bash
# Runs the whole flow (keygen, migrate with the encrypt step, put, get, rotate,
# verify, keys, failures) with -vv and with JSON logs, and greps everything the
# tool printed for the plaintexts and the key material: none may appear,
# except the secrets `get --reveal` was asked to print.
set -euo pipefail
: "${CREDVAULT_CLI:?}" "${CREDVAULT_SOURCE_DIR:?}"
cv=$CREDVAULT_CLI
work=$(mktemp -d)
db="cvhygiene_$$_$RANDOM"
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export DATABASE_URL="dbname=$db" CREDVAULT_ENV=staging CREDVAULT_MIGRATIONS_DIR="$CREDVAULT_SOURCE_DIR/migrations"
log="$work/all-output"
: >"$log"
run() { "$cv" "$@" >>"$log" 2>&1 || true; }

"$cv" keygen --out "$work/a.key" >>"$log" 2>&1
"$cv" keygen --out "$work/b.key" >>"$log" 2>&1
key_a=$(cat "$work/a.key"); key_b=$(cat "$work/b.key")
secret_env_key="env-secret-key-that-is-long-enough-0123456789"

run -vv --key-file "$work/a.key" migrate --to 20260215_0001
psql -qd "$db" -c "INSERT INTO accounts (amazon_account_id) SELECT 'A' || g FROM generate_series(1, 50) g"
psql -qd "$db" -c "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token)
  SELECT id, 'amzn1.application-oa2-client.HYGIENE' || id, 'amzn1.oa2-cs.v1.HYGIENESECRET' || id, 'Atzr|HYGIENETOKEN' || id FROM accounts"
for format in text json; do
  run -vv --log-format "$format" --key-file "$work/a.key" migrate
  run -vv --log-format "$format" --key-file "$work/a.key" verify
  run -vv --log-format "$format" --key-file "$work/b.key" --fallback-key-file "$work/a.key" keys
  run -vv --log-format "$format" --key-file "$work/b.key" --fallback-key-file "$work/a.key" rotate
  run -vv --log-format "$format" --key-file "$work/a.key" verify          # fails: unknown kid
  run -vv --log-format "$format" --key-file "$work/b.key" get --account 7
  echo '{"client_secret": "amzn1.oa2-cs.v1.PUTSECRET'"$format"'"}' | "$cv" -vv --log-format "$format" --key-file "$work/b.key" put --account 8 >>"$log" 2>&1
  # A client_id is shown masked only; the new client secret never.
  client="amzn1.application-oa2-client.HYGIENE9"
  run -vv --log-format "$format" --key-file "$work/b.key" find --client-id "$client"
  echo "$client" | "$cv" -vv --log-format "$format" --key-file "$work/b.key" find --client-id - >>"$log" 2>&1 || true
  run -vv --log-format "$format" --key-file "$work/b.key" find --client-id "$client-unknown"
  for dry in --dry-run ""; do
    echo "amzn1.oa2-cs.v1.ROTATEDSECRET$format" | "$cv" -vv --log-format "$format" --key-file "$work/b.key" \
      client-secret rotate --client-id "$client" $dry >>"$log" 2>&1 || true
  done
  run -vv --log-format "$format" --key-file "$work/b.key" client-secret status --json --max-age 0
  SECRET_KEY="$secret_env_key" "$cv" -vv --log-format "$format" keys >>"$log" 2>&1 || true   # unknown kids: warns
  SECRET_KEY="short-$secret_env_key" "$cv" -vv --log-format "$format" --key-file /nonexistent keys >>"$log" 2>&1 || true
  SECRET_KEY="tiny" "$cv" -vv --log-format "$format" keys >>"$log" 2>&1 || true
done
# Unreachable or malformed connection strings carrying a password in every
# form libpq takes one: userinfo, ?password=, key=value (plain and quoted),
# SQLAlchemy URLs, sslpassword, a dbname that is itself a URL, a bad %-escape.
for url in "postgresql://user:HYGIENEPASSWORD@127.0.0.1:1/x" \
           "postgresql://127.0.0.1:1/x?password=HYGIENEPASSWORD" \
           "postgresql+asyncpg://user:HYGIENEPASSWORD@127.0.0.1:1/x?ssl=require" \
           "postgresql+psycopg2://127.0.0.1:1/x?password=HYGIENEPASSWORD" \
           "host=127.0.0.1 port=1 password=HYGIENEPASSWORD dbname=x" \
           "host=127.0.0.1 port=1 password='HYGIENEPASSWORD and more' dbname=x" \
           "postgresql://127.0.0.1:1/x?sslmode=require&sslpassword=HYGIENEPASSWORD" \
           "dbname='postgresql://u:HYGIENEPASSWORD@127.0.0.1:1/x' port=1" \
           "postgresql://user:HYGIENEPASSWORD%zz@127.0.0.1:1/x" \
           "host=127.0.0.1 password='HYGIENEPASSWORD" \
           "mysql://user:HYGIENEPASSWORD@db/x"; do
  for command in verify current status; do
    DATABASE_URL="$url" "$cv" -vv --key-file "$work/b.key" "$command" >>"$log" 2>&1 || true
  done
  "$cv" -vv --key-file "$work/b.key" --database-url "dbname=$db" --direct-url "$url" migrate >>"$log" 2>&1 || true
  "$cv" -vv --log-format json --key-file "$work/b.key" --database-url "$url" keys >>"$log" 2>&1 || true
done

# A running job's argv and environment, as any local user with ps (or root
# with /proc/PID/environ) sees them: keys given in SECRET_KEY* are wiped
# from the environment block once read, and never appear in argv.
psql -qd "$db" -c "INSERT INTO accounts (amazon_account_id) SELECT 'B' || g FROM generate_series(1, 20000) g"
psql -qd "$db" -c "INSERT INTO credentials (account_id, client_id) SELECT id, 'amzn1.application-oa2-client.X' || id FROM accounts WHERE amazon_account_id LIKE 'B%'"
"$cv" -q --key-file "$work/b.key" encrypt >>"$log" 2>&1
SECRET_KEY="$key_a" SECRET_KEY_FALLBACKS="$key_b" "$cv" -q rotate --batch-size 5 >>"$log" 2>&1 &
job=$!
sleep 1
if ! kill -0 "$job" 2>/dev/null; then echo "the rotate job ended before its argv and environment were read" >&2; exit 1; fi
tr '\0' '\n' <"/proc/$job/cmdline" >>"$log"
tr '\0' '\n' <"/proc/$job/environ" >"$work/environ"
cat "$work/environ" >>"$log"
wait "$job" || true
SECRET_KEY="$key_b" SECRET_KEY_FALLBACKS="$key_a" "$cv" -q rotate >>"$log" 2>&1  # back under B for get below
grep -q '^DATABASE_URL=' "$work/environ" || { echo "could not read the job's environment" >&2; exit 1; }

# Key sources. exec: a slow helper, so that both argvs (credvault's and the
# helper's /bin/sh -c) can be read while it runs; and a failing helper whose
# stdout must not be quoted. wrapped: a SoftHSM2 token with its own
# SOFTHSM2_CONF; the PIN travels only in CREDVAULT_PKCS11_PIN.
"$cv" keygen --out "$work/c.key" >>"$log" 2>&1
key_c=$(cat "$work/c.key")
SECRET_KEY="exec:sleep 2; cat '$work/c.key'" SECRET_KEY_FALLBACKS="$key_b" "$cv" -vv rotate >>"$log" 2>&1 &
job=$!
sleep 1
helper=""  # the child of the job (its /bin/sh -c), found through /proc: no procps needed
for stat in /proc/[0-9]*/stat; do
  read -r pid _ _ ppid _ <"$stat" 2>/dev/null || continue
  if [ "$ppid" = "$job" ]; then helper=$pid; break; fi
done
[ -n "$helper" ] || { echo "the exec: helper was not running" >&2; exit 1; }
tr '\0' '\n' <"/proc/$job/cmdline" >>"$log"
tr '\0' '\n' <"/proc/$helper/cmdline" >>"$log"
tr '\0' '\n' <"/proc/$helper/environ" >"$work/helper-environ"
cat "$work/helper-environ" >>"$log"
# The helper gets an allowlisted environment: never the database URL or PG* (PGPASSWORD...).
if grep -Eq '^(DATABASE_URL|CREDVAULT_DIRECT_URL|PG[A-Z_]*)=' "$work/helper-environ"; then
  echo "LEAK: the exec: helper inherited DATABASE_URL or a PG* variable" >&2; exit 1
fi
grep -q '^PATH=' "$work/helper-environ" || { echo "the exec: helper's environment was not read" >&2; exit 1; }
wait "$job" || true
SECRET_KEY="exec:echo HYGIENEEXECSTDOUT-0123456789abcdef0123456789; echo helper failed >&2; exit 7" "$cv" -vv verify >>"$log" 2>&1 || true
SECRET_KEY="exec:cat '$work/c.key'" "$cv" -vv --log-format json keys >>"$log" 2>&1 || true

hsm="$work/hsm"
mkdir -p "$hsm/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$hsm" >"$hsm/softhsm2.conf"
export SOFTHSM2_CONF="$hsm/softhsm2.conf"
module=/usr/lib/softhsm/libsofthsm2.so
pin="HYGIENEPIN4921"
softhsm2-util --init-token --free --label hygiene --pin "$pin" --so-pin 56781234 >/dev/null
for kek in kek-a kek-b; do
  pkcs11-tool --module "$module" --token-label hygiene --login --pin "$pin" --keygen --key-type AES:32 --usage-wrap \
    --label "$kek" >/dev/null 2>&1
done
export CREDVAULT_PKCS11_MODULE="$module"
CREDVAULT_PKCS11_PIN="$pin" "$cv" -vv keygen --wrap-with "pkcs11:token=hygiene;object=kek-a" --out "$work/w.wrapped" >>"$log" 2>&1
for format in text json; do
  CREDVAULT_PKCS11_PIN="$pin" SECRET_KEY="wrapped:$work/w.wrapped" SECRET_KEY_FALLBACKS="$key_c,$key_b" \
    "$cv" -vv --log-format "$format" rotate >>"$log" 2>&1 || true
  CREDVAULT_PKCS11_PIN="$pin" "$cv" -vv --log-format "$format" --key-file "wrapped:$work/w.wrapped" verify >>"$log" 2>&1 || true
  CREDVAULT_PKCS11_PIN="wrong-$pin" "$cv" -vv --log-format "$format" --key-file "wrapped:$work/w.wrapped" verify >>"$log" 2>&1 || true
  "$cv" -vv --log-format "$format" --key-file "wrapped:$work/w.wrapped" verify >>"$log" 2>&1 || true   # no PIN
done
CREDVAULT_PKCS11_PIN="$pin" "$cv" -vv keys rewrap --to "pkcs11:token=hygiene;object=kek-b" "$work/w.wrapped" >>"$log" 2>&1
"$cv" -vv keygen --wrap-with "pkcs11:token=hygiene;object=kek-a?pin-value=$pin" --out "$work/x.wrapped" >>"$log" 2>&1 || true
cat "$work/w.wrapped" >>"$log"
# Back under B for get --reveal below.
CREDVAULT_PKCS11_PIN="$pin" SECRET_KEY="$key_b" SECRET_KEY_FALLBACKS="wrapped:$work/w.wrapped,$key_c" \
  "$cv" -q rotate >>"$log" 2>&1
unset CREDVAULT_PKCS11_MODULE SOFTHSM2_CONF
# The audit trail itself.
psql -qAtd "$db" -c "SELECT kind, actor, details FROM credvault_events" >>"$log"
grep -q '"os_user"' "$log" || { echo "the events were not read" >&2; exit 1; }

fail=0
check_absent() {
  if grep -F -q -- "$1" "$log"; then echo "LEAK: $2 found in output" >&2; grep -F -n -- "$1" "$log" | head -3 >&2; fail=1; fi
}
check_absent "${key_a#base64:}" "key A"
check_absent "${key_b#base64:}" "key B"
check_absent "$secret_env_key" "SECRET_KEY from the environment"
check_absent "tiny" "a weak SECRET_KEY"
check_absent "HYGIENESECRET" "a client_secret plaintext"
check_absent "HYGIENETOKEN" "a refresh_token plaintext"
check_absent "PUTSECRET" "a secret given to put"
check_absent "oa2-client.HYGIENE" "a whole client_id"
check_absent "ROTATEDSECRET" "a secret given to client-secret rotate"
grep -q "changed the client_secret of 1 account(s) of client amzn1.applic…ENE9" "$log" ||
  { echo "client-secret rotate did not run" >&2; fail=1; }
check_absent "HYGIENEPASSWORD" "a database password"
check_absent "${key_c#base64:}" "key C (from an exec: command)"
check_absent "HYGIENEEXECSTDOUT" "a failing exec: command's stdout"
check_absent "$pin" "the PKCS#11 PIN"
# Any key text at all (an unwrapped data key would show as one).
if grep -E -q 'base64:[A-Za-z0-9+/]{43}=' "$log"; then echo "LEAK: a base64: key found in output" >&2; fail=1; fi
grep -q '"level":"debug"' "$log" || { echo "the JSON logs were not produced" >&2; fail=1; }
lines=$(wc -l <"$log")
# The one place secrets may appear: get --reveal, asked for explicitly.
revealed=$("$cv" --key-file "$work/b.key" get --account 7 --reveal)
echo "$revealed" | grep -q "HYGIENESECRET7" || { echo "get --reveal did not reveal" >&2; fail=1; }
[ "$fail" = 0 ] && echo "secret hygiene: $lines lines of output checked, no secret found"
exit "$fail"

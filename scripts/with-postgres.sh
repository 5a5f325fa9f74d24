#!/usr/bin/env bash
# Runs a command with a PostgreSQL server to talk to, a private PgBouncer in
# front of it, and TLS material for the tests.
#   - If DATABASE_URL is set, that server is used as is (it must be reachable:
#     a missing server is an error, never a skip). Its TLS setup is not ours:
#     set CREDVAULT_TEST_TLS_CA to the CA file that signs its certificate (for
#     the URL's host name); without it, or without TLS on that server, the TLS
#     tests FAIL (they are never skipped); the pooler tests still run.
#   - Otherwise a throwaway cluster is created with pg_virtualenv (PG* variables
#     point at it) and dropped when the command ends. It runs with ssl = on and
#     a server certificate (CN localhost, SAN localhost/127.0.0.1/::1) signed by
#     a CA made here with the openssl CLI, so the same server accepts TLS and
#     plain connections (pg_hba `host` lines match both).
#   - In both cases a private pgbouncer process (its own temporary folder,
#     config and port on 127.0.0.1; pool_mode = transaction,
#     default_pool_size = 3; a `*` fallback so every database is reachable)
#     is started in front of the server and stopped when the command ends.
#     A missing pgbouncer is an error (exit 4), never a skip.
#   - With the throwaway cluster, a hot standby of it too: pg_basebackup -R
#     into this run's folder, started on its own port on 127.0.0.1 (trust
#     logins from 127.0.0.1 only, no TLS), streaming from the server. With
#     DATABASE_URL, the caller sets CREDVAULT_TEST_STANDBY_URL for a standby of
#     that server; without it the standby tests FAIL (they are never skipped).
#     CREDVAULT_TEST_NO_STANDBY=1 skips making one, for a command that runs
#     none of the [standby] tests (it saves a few seconds).
# The command sees:
#   CREDVAULT_TEST_POOLER_HOST, CREDVAULT_TEST_POOLER_PORT  the pgbouncer
#   CREDVAULT_TEST_TLS_CA         CA file of the server's certificate (throwaway cluster)
#   CREDVAULT_TEST_TLS_WRONG_CA   another self-made CA that signed nothing the server has
#   CREDVAULT_TEST_STANDBY_URL    conninfo (no dbname) of the hot standby
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
self=$(readlink -f "$0")

die() { echo "with-postgres: $*" >&2; exit 4; }

# A free TCP port on 127.0.0.1 (the kernel picks it).
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Makes $1/ca.crt (+ key), $1/server.{crt,key} signed by it, and $1/wrong-ca.crt.
make_tls_material() {
  local dir=$1
  (
    cd "$dir"
    openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "/CN=credvault test CA" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "/CN=credvault test CA" \
      -keyout wrong-ca.key -out wrong-ca.crt 2>/dev/null
    openssl req -new -nodes -newkey rsa:2048 -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1\nbasicConstraints = CA:FALSE\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr server.ext ca.srl ca.key wrong-ca.key
    chmod 600 server.key
  ) || die "openssl could not make the test certificates (run scripts/setup.sh)"
}

# start_standby HOST PORT USER PASSWORD: a hot standby of the throwaway
# cluster in $work/standby (pg_basebackup -R), on a free port of 127.0.0.1;
# exports CREDVAULT_TEST_STANDBY_URL. The data folder holds no configuration
# of its own (Debian keeps it elsewhere): a minimal postgresql.conf and
# pg_hba.conf are written; ssl is off on the command line (the copied
# postgresql.auto.conf says on, without the certificate files).
start_standby() {
  local host=$1 port=$2 user=$3 password=$4
  local bindir as_pg=()
  bindir=$("${PG_CONFIG:-pg_config}" --bindir) || die "pg_config not found"
  standby_dir=$work/standby
  mkdir -m 700 "$standby_dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$standby_dir"
    as_pg=(runuser -u postgres --)
  fi
  "${as_pg[@]}" env PGPASSWORD="$password" "$bindir/pg_basebackup" -h "$host" -p "$port" -U "$user" \
    -D "$standby_dir/data" -R -X stream -c fast >"$work/standby.log" 2>&1 \
    || { cat "$work/standby.log" >&2; die "pg_basebackup could not copy the throwaway cluster"; }
  "${as_pg[@]}" sh -c "printf 'local all all trust\\nhost all all 127.0.0.1/32 trust\\n' >'$standby_dir/data/pg_hba.conf'"
  local standby_port started=0
  for _ in 1 2 3 4 5; do
    standby_port=$(free_port)
    "${as_pg[@]}" sh -c "cat >'$standby_dir/data/postgresql.conf'" <<EOF
port = $standby_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$standby_dir'
hot_standby = on
max_connections = 200
fsync = off
full_page_writes = off
wal_receiver_status_interval = 1s
EOF
    if "${as_pg[@]}" "$bindir/pg_ctl" -D "$standby_dir/data" -l "$standby_dir/server.log" -o "-c ssl=off" \
        -w -t 60 start >>"$work/standby.log" 2>&1; then
      started=1
      break
    fi
  done
  if [ "$started" != 1 ]; then
    cat "$work/standby.log" "$standby_dir/server.log" >&2 2>/dev/null || true
    die "the hot standby did not start (5 ports tried)"
  fi
  export CREDVAULT_TEST_STANDBY_URL="host=127.0.0.1 port=$standby_port user=$user sslmode=disable"
}

stop_standby() {
  [ -n "${standby_dir:-}" ] || return 0
  local bindir as_pg=()
  bindir=$("${PG_CONFIG:-pg_config}" --bindir) || return 0
  if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$standby_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# Inside the server's environment (PG* or DATABASE_URL): start pgbouncer,
# run the command, stop pgbouncer.
inner() {
  local work=$CREDVAULT_WITH_POSTGRES_WORK
  command -v pgbouncer >/dev/null || die "pgbouncer not found (run scripts/setup.sh)"
  # The server pgbouncer forwards to, and the login it uses (libpq's view of
  # DATABASE_URL or of the PG* variables).
  local target
  target=$(/usr/bin/python3 - <<'EOF'
import os, re, psycopg2.extensions as e
url = re.sub(r'^postgres(ql)?\+[a-z0-9_]+://', 'postgresql://', os.environ.get('DATABASE_URL', ''))
d = e.parse_dsn(url) if url else {}
host = d.get('host') or os.environ.get('PGHOST') or '/var/run/postgresql'
if host == 'localhost':
    host = '127.0.0.1'
print(host)
print(d.get('port') or os.environ.get('PGPORT') or '5432')
print(d.get('user') or os.environ.get('PGUSER') or os.environ.get('USER') or 'postgres')
print(d.get('password') or os.environ.get('PGPASSWORD') or '')
print(d.get('dbname') or os.environ.get('PGDATABASE') or 'postgres')
EOF
) || die "cannot read the server's address from DATABASE_URL / PG* variables"
  local host port user password dbname
  { read -r host; read -r port; read -r user; IFS= read -r password; IFS= read -r dbname; } <<<"$target"

  # The throwaway cluster: pg_createcluster ignores `-o ssl=on` (it turns
  # TLS on only for Debian's snakeoil certificate), so switch it on here; the
  # certificate files were given with -o. Then prove verify-full works.
  if [ "${CREDVAULT_WITH_POSTGRES_OWN_TLS:-}" = 1 ]; then
    unset CREDVAULT_WITH_POSTGRES_OWN_TLS
    psql -Atq -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null \
      || die "cannot switch TLS on in the throwaway cluster"
    local tls_ok=0
    for _ in $(seq 1 50); do
      if psql "host=localhost sslmode=verify-full sslrootcert=$CREDVAULT_TEST_TLS_CA" -Atqc 'select 1' >/dev/null 2>&1; then
        tls_ok=1
        break
      fi
      sleep 0.1
    done
    [ "$tls_ok" = 1 ] || die "the throwaway cluster does not accept sslmode=verify-full with the test CA"
  fi

  standby_dir=
  if [ "${CREDVAULT_WITH_POSTGRES_STANDBY:-}" = 1 ]; then
    unset CREDVAULT_WITH_POSTGRES_STANDBY
    start_standby "$host" "$port" "$user" "$password"
  fi

  local dir="$work/pgbouncer"
  mkdir -p "$dir"
  local pooler_port auth_type=scram-sha-256
  [ -n "$password" ] || auth_type=trust
  # userlist.txt holds the server password: 0600, in this run's own folder.
  (umask 077; printf '"%s" "%s"\n' "${user//\"/\"\"}" "${password//\"/\"\"}" >"$dir/userlist.txt")
  # pgbouncer refuses to run as root: as root it drops to the postgres user.
  local as_user=()
  if [ "$(id -u)" -eq 0 ]; then as_user=(-u postgres); fi
  pooler_pid=
  stop_pooler() {
    [ -n "$pooler_pid" ] || return 0
    kill "$pooler_pid" 2>/dev/null || true
    wait "$pooler_pid" 2>/dev/null || true
  }
  trap 'stop_pooler; stop_standby' EXIT
  trap 'exit 130' INT TERM
  # The free port may be taken by someone else before pgbouncer binds it
  # (other test runs share this machine): then try another one.
  local ready=0 attempt
  for attempt in 1 2 3 4 5; do
    pooler_port=$(free_port)
    cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$host port=$port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pooler_port
unix_socket_dir =
auth_type = $auth_type
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 3
max_client_conn = 1000
max_db_connections = 0
server_reset_query =
ignore_startup_parameters = extra_float_digits
server_login_retry = 1
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
    pgbouncer "${as_user[@]}" "$dir/pgbouncer.ini" >"$dir/stdout.log" 2>&1 &
    pooler_pid=$!
    for _ in $(seq 1 100); do
      if PGCONNECT_TIMEOUT=2 PGPASSWORD=$password \
          psql "host=127.0.0.1 port=$pooler_port dbname=$dbname user=$user sslmode=disable" \
          -Atqc 'select 1' >/dev/null 2>&1; then
        ready=1
        break
      fi
      kill -0 "$pooler_pid" 2>/dev/null || break
      sleep 0.1
    done
    [ "$ready" = 1 ] && break
    stop_pooler
    pooler_pid=
  done
  if [ "$ready" != 1 ]; then
    cat "$dir/stdout.log" "$dir/pgbouncer.log" >&2 2>/dev/null || true
    die "pgbouncer did not come up on 127.0.0.1 (5 ports tried)"
  fi
  export CREDVAULT_TEST_POOLER_HOST=127.0.0.1 CREDVAULT_TEST_POOLER_PORT=$pooler_port
  local rc=0
  "$@" || rc=$?
  return "$rc"
}

if [ "${CREDVAULT_WITH_POSTGRES_INNER:-}" = 1 ]; then
  unset CREDVAULT_WITH_POSTGRES_INNER
  inner "$@"
  exit $?
fi

command -v openssl >/dev/null || die "openssl not found (run scripts/setup.sh)"
work=$(mktemp -d -t credvault-with-postgres.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir "$work/tls"
make_tls_material "$work/tls"
export CREDVAULT_WITH_POSTGRES_WORK=$work
export CREDVAULT_TEST_TLS_WRONG_CA=$work/tls/wrong-ca.crt

if [ -n "${DATABASE_URL:-}" ]; then
  if ! psql "$(printf '%s' "$DATABASE_URL" | sed -E 's#^postgres(ql)?\+[a-z0-9_]+://#postgresql://#')" -Atqc 'select 1' >/dev/null 2>&1; then
    die "DATABASE_URL is set but no server answers there"
  fi
  # The server's TLS is not ours: CREDVAULT_TEST_TLS_CA stays whatever the caller set.
  rc=0
  CREDVAULT_WITH_POSTGRES_INNER=1 "$self" "$@" || rc=$?
  exit "$rc"
fi

command -v pg_virtualenv >/dev/null || die "pg_virtualenv not found (run scripts/setup.sh)"
export CREDVAULT_TEST_TLS_CA=$work/tls/ca.crt
# The server (run as postgres when we are root) must read its key, and only it.
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$work/tls/server.key"; fi
chmod 644 "$work/tls/server.crt" "$work/tls/ca.crt" "$work/tls/wrong-ca.crt"
chmod 755 "$work/tls"
# A throwaway cluster tuned for tests: durability is not needed, speed is.
# CREDVAULT_PG_DURABLE=1 keeps the defaults (scripts/bench.sh uses it).
# -t: a private temporary cluster directory even as root, so two runs (or a
# stale cluster left by a killed run) never collide on the shared "regress" name.
options=(-t)
if [ "${CREDVAULT_PG_DURABLE:-0}" != 1 ]; then
  options+=(-o fsync=off -o synchronous_commit=off -o full_page_writes=off)
fi
options+=(-o max_connections=200 -o "ssl_cert_file=$work/tls/server.crt"
          -o "ssl_key_file=$work/tls/server.key")
# A port the kernel says is free: pg_virtualenv's own choice (5433, 5434, ...)
# only avoids registered clusters, so two runs at once (-t clusters are not
# registered) would both pick 5433 and one would fail.
rc=0
[ "${CREDVAULT_TEST_NO_STANDBY:-0}" = 1 ] || export CREDVAULT_WITH_POSTGRES_STANDBY=1
PGPORT=$(free_port) CREDVAULT_WITH_POSTGRES_OWN_TLS=1 CREDVAULT_WITH_POSTGRES_INNER=1 \
  pg_virtualenv "${options[@]}" "$self" "$@" || rc=$?
exit "$rc"

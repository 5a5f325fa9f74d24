"""Fixtures: the built C++ CLI and a fresh database per test on the test server.

Run under scripts/with-postgres.sh (PG* variables) or with DATABASE_URL unset and PG* set.
A missing server or CLI is a failure, never a skip.
"""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from typing import Dict, Iterator, List, Optional

import psycopg2
import pytest

SOURCE_DIR = os.environ.get("CREDVAULT_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MIGRATIONS = os.path.join(SOURCE_DIR, "migrations")


def _cli_path() -> str:
    cli = os.environ.get("CREDVAULT_CLI") or os.path.join(SOURCE_DIR, "build", "credvault")
    if not os.access(cli, os.X_OK):
        pytest.fail(f"credvault CLI not found at {cli} (set CREDVAULT_CLI)", pytrace=False)
    return cli


class Cli:
    """Runs the C++ CLI; keys go through the environment, never argv."""

    def __init__(self, path: str) -> None:
        self.path = path

    def run(self, *args: str, db: Optional[str] = None, key: Optional[str] = None,
            fallbacks: Optional[List[str]] = None, stdin: Optional[str] = None, check: bool = True,
            env_name: str = "staging") -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "DATABASE_URL")}
        if db:
            env["DATABASE_URL"] = f"dbname={db}"
        if key:
            env["SECRET_KEY"] = key
        if fallbacks:
            env["SECRET_KEY_FALLBACKS"] = ",".join(fallbacks)
        proc = subprocess.run([self.path, "--env", env_name, "--migrations-dir", MIGRATIONS, *args], env=env,
                              input=stdin, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"credvault {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def keygen(self) -> str:
        return self.run("keygen").stdout.strip()

    def get(self, db: str, key: str, account: int, fallbacks: Optional[List[str]] = None) -> Dict[str, str]:
        out = self.run("get", "--account", str(account), "--reveal", db=db, key=key, fallbacks=fallbacks).stdout
        return json.loads(out)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(_cli_path())


@pytest.fixture(scope="session")
def server() -> None:
    try:
        psycopg2.connect(dbname="postgres").close()
    except psycopg2.OperationalError as e:
        pytest.fail(f"no PostgreSQL server (run under scripts/with-postgres.sh): {e}", pytrace=False)


def _admin(sql: str) -> None:
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def template_db(server: None, cli: Cli) -> Iterator[str]:
    """A migrated database with accounts 1..2000, copied for each test."""
    name = f"cvpy_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        cli.run("migrate", "-q", db=name, key=cli.keygen())
        conn = psycopg2.connect(dbname=name)
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO accounts (amazon_account_id) SELECT 'A' || g FROM generate_series(1, 2000) g")
        conn.close()
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}"')


def _scratch_db(prefix: str, template: Optional[str] = None) -> Iterator[str]:
    """A new database named after this process, dropped (sessions and all) afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(template_db: str) -> Iterator[str]:
    yield from _scratch_db("cvpy", template_db)


@pytest.fixture
def empty_db(server: None) -> Iterator[str]:
    yield from _scratch_db("cvpy_e")


def sql(db: str, query: str, params: tuple = ()) -> list:
    conn = psycopg2.connect(dbname=db)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pooler(server: None) -> Iterator[Dict[str, str]]:
    """PgBouncer in transaction mode in front of the test server: CREDVAULT_TEST_POOLER_HOST/PORT when
    set, else one started here (it must start: a missing pgbouncer is a failure)."""
    if os.environ.get("CREDVAULT_TEST_POOLER_HOST") and os.environ.get("CREDVAULT_TEST_POOLER_PORT"):
        yield {"host": os.environ["CREDVAULT_TEST_POOLER_HOST"], "port": os.environ["CREDVAULT_TEST_POOLER_PORT"]}
        return
    import pathlib
    import shutil
    import socket
    import tempfile
    import time

    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.access(binary, os.X_OK):
        pytest.fail("pgbouncer not installed (scripts/setup.sh)", pytrace=False)
    work = pathlib.Path(tempfile.mkdtemp(prefix="cvpy_pgbouncer_"))
    if os.geteuid() == 0:  # pgbouncer does not run as root: it runs as postgres and writes here
        shutil.chown(work, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server_conn = " ".join(f"{k}={os.environ[v]}" for k, v in (("host", "PGHOST"), ("port", "PGPORT"),
                                                                 ("user", "PGUSER"), ("password", "PGPASSWORD"))
                           if os.environ.get(v))
    (work / "users.txt").write_text(f'"{os.environ.get("PGUSER", "postgres")}" ""\n')
    (work / "pgbouncer.ini").write_text(f"""[databases]
* = {server_conn}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {work}/users.txt
pool_mode = transaction
max_client_conn = 300
default_pool_size = 8
ignore_startup_parameters = extra_float_digits
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
""")
    for f in ("users.txt", "pgbouncer.ini"):
        os.chmod(work / f, 0o644)
    args = [binary, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:
        args[1:1] = ["-u", "postgres"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                psycopg2.connect(host="127.0.0.1", port=port, dbname="postgres").close()
                break
            except psycopg2.OperationalError:
                if proc.poll() is not None:
                    pytest.fail(f"pgbouncer exited: {proc.stderr.read().decode()[-500:]}", pytrace=False)
                time.sleep(0.1)
        else:
            pytest.fail("pgbouncer did not start", pytrace=False)
        yield {"host": "127.0.0.1", "port": str(port)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

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


@pytest.fixture
def db(template_db: str) -> Iterator[str]:
    name = f"cvpy_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_db(server: None) -> Iterator[str]:
    name = f"cvpy_e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sql(db: str, query: str, params: tuple = ()) -> list:
    conn = psycopg2.connect(dbname=db)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()

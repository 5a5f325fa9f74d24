"""The package as the application role of docs/ROLES.md: the grants there (hardening, owner, app),
run as they are, are enough for Vault (psycopg2) and AsyncVault (asyncpg and SQLAlchemy) to open,
get, put and find; and they are no more than that."""
from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import uuid
from typing import Dict, Iterator

import asyncpg
import psycopg2
import pytest
from sqlalchemy import Column, Integer, String, create_engine, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session, declarative_base

from conftest import MIGRATIONS, SOURCE_DIR, _admin, sql
from credvault import AsyncVault, ClientAccount, Keyring, NoLifecycleGrant, NotFound, Vault
from credvault.sqlalchemy import encrypt_columns


def grants(block: str, db: str, roles: Dict[str, str]) -> str:
    """The ```sql block after <!-- roles-test: BLOCK --> in docs/ROLES.md, with this test's names."""
    with open(os.path.join(SOURCE_DIR, "docs", "ROLES.md"), encoding="utf-8") as f:
        doc = f.read()
    at = doc.index(f"<!-- roles-test: {block} -->")
    start = doc.index("```sql\n", at) + len("```sql\n")
    text = doc[start:doc.index("```", start)]
    text = re.sub(r"DATABASE ads\b", f'DATABASE "{db}"', text)
    for documented, actual in roles.items():
        text = re.sub(rf"\b{documented}\b", f'"{actual}"', text)
    return text


class Role:
    def __init__(self, prefix: str) -> None:
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.password = secrets.token_hex(16)
        _admin(f"CREATE ROLE \"{self.name}\" LOGIN PASSWORD '{self.password}'")

    def conninfo(self, db: str) -> str:
        return f"host={os.environ.get('PGHOST', 'localhost')} dbname={db} user={self.name} password={self.password}"

    def drop(self) -> None:
        _admin(f'DROP ROLE IF EXISTS "{self.name}"')


@pytest.fixture
def roles(empty_db: str) -> Iterator[Dict[str, Role]]:
    made = {"credvault_owner": Role("cvpy_owner"), "credvault_app": Role("cvpy_app")}
    try:
        yield made
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{empty_db}" WITH (FORCE)')  # the roles own objects in it
        for role in made.values():
            role.drop()


def run_as_admin(db: str, text: str) -> None:
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(text)
    finally:
        conn.close()


def migrated_with_roles_md_grants(cli, db: str, roles: Dict[str, Role]) -> str:
    """docs/ROLES.md's grants, run as they are; migrated by the owner role; accounts 1..3. The key."""
    names = {documented: role.name for documented, role in roles.items()}
    run_as_admin(db, grants("hardening", db, names))
    run_as_admin(db, grants("owner", db, names))
    key = cli.keygen()
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    proc = subprocess.run(
        [cli.path, "--env", "staging", "--migrations-dir", MIGRATIONS, "-q", "migrate"],
        env={**env, "SECRET_KEY": key, "DATABASE_URL": roles["credvault_owner"].conninfo(db)}, capture_output=True,
        text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    sql(db, "INSERT INTO accounts (amazon_account_id) SELECT 'A' || g FROM generate_series(1, 3) g")
    run_as_admin(db, grants("app", db, names))
    return key


def test_application_role_of_roles_md_gets_and_puts_and_no_more(cli, empty_db, roles):
    db, app = empty_db, roles["credvault_app"]
    key = migrated_with_roles_md_grants(cli, db, roles)
    ring = Keyring(key)

    with Vault.open(app.conninfo(db), ring, environment="staging", migrations_dir=MIGRATIONS) as vault:
        vault.put_credentials(1, client_id="app-client-1", client_secret="app-secret-1")
        vault.put_credentials(1, refresh_token="app-refresh-1")
        got = vault.get_credentials(1)
        assert (got.client_id.reveal(), got.client_secret.reveal(), got.refresh_token.reveal()) == \
            ("app-client-1", "app-secret-1", "app-refresh-1")
        with pytest.raises(NotFound):
            vault.get_credentials(2)
        assert vault.find_accounts("app-client-1") == [ClientAccount(1, "A1")]  # reads client_id_bidx

    async def async_flows() -> None:
        pool = await asyncpg.create_pool(user=app.name, password=app.password, database=db,
                                         host=os.environ.get("PGHOST", "localhost"), min_size=1, max_size=2,
                                         statement_cache_size=0)
        vault = await AsyncVault.open(pool, ring, environment="staging", migrations_dir=MIGRATIONS)
        await vault.put_credentials(2, client_id="async-client-2")
        assert (await vault.get_credentials(2)).client_id.reveal() == "async-client-2"
        assert await vault.find_accounts("async-client-2") == [ClientAccount(2, "A2")]
        await pool.close()
        engine = create_async_engine(
            f"postgresql+asyncpg://{app.name}:{app.password}@{os.environ.get('PGHOST', 'localhost')}/{db}")
        vault = await AsyncVault.open(engine, ring, environment="staging", migrations_dir=MIGRATIONS)
        await vault.put_credentials(3, client_secret="sa-secret-3")
        assert (await vault.get_credentials(3)).client_secret.reveal() == "sa-secret-3"
        await engine.dispose()

    asyncio.run(async_flows())
    assert cli.get(db, key, 3)["client_secret"] == "sa-secret-3"
    assert cli.run("verify", db=db, key=key).returncode == 0

    # No more than that: the application role cannot delete, drop or read other tables.
    conn = psycopg2.connect(app.conninfo(db))
    conn.autocommit = True
    try:
        for statement in ("DELETE FROM credentials", "DROP TABLE credentials", "TRUNCATE credentials",
                          "SELECT * FROM profiles", "SELECT * FROM credvault_events"):
            with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(statement)
    finally:
        conn.close()
    assert sql(db, "SELECT count(*) FROM credentials")[0][0] == 3


def test_a_role_that_cannot_read_the_retired_keys_is_refused_at_open(cli, empty_db, roles):
    """As the C++ Vault::Open: without SELECT on credvault_keys a retired key would go unnoticed, so
    open fails closed with a credvault error naming the grant, not the driver's permission error."""
    db, app = empty_db, roles["credvault_app"]
    ring = Keyring(migrated_with_roles_md_grants(cli, db, roles))
    with Vault.open(app.conninfo(db), ring, environment="staging", migrations_dir=MIGRATIONS) as vault:
        vault.put_credentials(1, client_id="before-the-revoke")
    run_as_admin(db, f'REVOKE SELECT ON credvault_keys FROM "{app.name}"')
    host = os.environ.get("PGHOST", "localhost")

    def refused(error: NoLifecycleGrant) -> None:
        assert error.reason == "no_lifecycle_grant" and "GRANT SELECT ON credvault_keys" in str(error)

    with pytest.raises(NoLifecycleGrant) as e:
        Vault.open(app.conninfo(db), ring, environment="staging", migrations_dir=MIGRATIONS)
    refused(e.value)

    async def async_opens() -> None:
        with pytest.raises(NoLifecycleGrant) as e:
            await AsyncVault.open(app.conninfo(db), ring, environment="staging", migrations_dir=MIGRATIONS)
        refused(e.value)
        pool = await asyncpg.create_pool(user=app.name, password=app.password, database=db, host=host, min_size=1,
                                         max_size=1, statement_cache_size=0)
        try:
            with pytest.raises(NoLifecycleGrant):
                await AsyncVault.open(pool, ring, environment="staging", migrations_dir=MIGRATIONS)
        finally:
            await pool.close()
        engine = create_async_engine(f"postgresql+asyncpg://{app.name}:{app.password}@{host}/{db}")
        try:
            with pytest.raises(NoLifecycleGrant):
                await AsyncVault.open(engine, ring, environment="staging", migrations_dir=MIGRATIONS)
        finally:
            await engine.dispose()

    asyncio.run(async_opens())

    # The SQLAlchemy events read credvault_keys on their first load: the same error.
    class AppCredential(declarative_base()):
        __tablename__ = "credentials"
        account_id = Column(Integer, primary_key=True)
        client_id = Column(String(512))

    encrypt_columns(AppCredential, ring)
    engine = create_engine(f"postgresql+psycopg2://{app.name}:{app.password}@{host}/{db}")
    try:
        with Session(engine) as session, pytest.raises(NoLifecycleGrant):
            session.execute(select(AppCredential).where(AppCredential.account_id == 1)).scalar_one()
    finally:
        engine.dispose()

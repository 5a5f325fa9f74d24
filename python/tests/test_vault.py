"""Vault / AsyncVault against the real server and the C++ CLI, both ways."""
from __future__ import annotations

import asyncio
import json
import warnings

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from conftest import MIGRATIONS, sql
from credvault import (AsyncVault, CapacityError, IntegrityError, Keyring, NotCiphertext, NotFound, SchemaBehind,
                       UnknownKid, UsageError, Vault)

PLAIN = {"client_id": "amzn1.application-oa2-client.py-written",
         "client_secret": "python-secret-ÿ-0123456789",
         "refresh_token": "Atzr|IwEB" + "r" * 300}


@pytest.mark.parametrize("alg", ["x", "g"])
def test_python_writes_cli_reads_and_verifies(cli, db, alg):
    key = cli.keygen()
    with Vault.open(f"dbname={db}", Keyring(key, alg=alg), migrations_dir=MIGRATIONS) as vault:
        vault.put_credentials(7, **PLAIN)
        vault.put_credentials(8, client_secret="only-the-secret")
        vault.put_credentials(8, refresh_token="then-a-token")        # upsert keeps client_secret
        got = vault.get_credentials(8)
        assert got.client_id is None and got.client_secret.reveal() == "only-the-secret"
        assert got.refresh_token.reveal() == "then-a-token"
    stored = sql(db, "SELECT client_id FROM credentials WHERE account_id = 7")[0][0]
    assert stored.startswith(f"cv1:{alg}:{Keyring(key).primary_kid}:")
    assert cli.get(db, key, 7) == {"account_id": 7, **PLAIN}
    assert cli.get(db, key, 8) == {"account_id": 8, "client_id": None, "client_secret": "only-the-secret",
                                   "refresh_token": "then-a-token"}
    assert cli.run("verify", db=db, key=key).returncode == 0


def test_cli_writes_python_reads(cli, db):
    key = cli.keygen()
    cli.run("put", "--account", "5", db=db, key=key, stdin=json.dumps(PLAIN))
    # plaintext rows converted by `credvault encrypt`
    sql(db, "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token) VALUES (6, %s, %s, NULL)",
        ("plain-id-6", "plain-secret-6"))
    with Vault.open(f"dbname={db}", Keyring(key), migrations_dir=MIGRATIONS) as vault:
        with pytest.raises(NotCiphertext) as plaintext:
            vault.get_credentials(6)
        assert plaintext.value.reason == "plaintext"
        cli.run("encrypt", db=db, key=key)
        got = vault.get_credentials(5)
        assert {c: getattr(got, c).reveal() for c in PLAIN} == PLAIN
        six = vault.get_credentials(6)
        assert six.client_id.reveal() == "plain-id-6" and six.refresh_token is None
        assert "plain" not in repr(six)


def test_vault_errors(cli, db):
    key, other = cli.keygen(), cli.keygen()
    with Vault.open(f"postgresql+psycopg2:///{db}", Keyring(key), migrations_dir=MIGRATIONS) as vault:
        with pytest.raises(NotFound) as e:
            vault.get_credentials(1999)
        assert e.value.reason == "no_credentials"
        with pytest.raises(NotFound) as e:
            vault.get_credentials(99999)
        assert e.value.reason == "no_such_account"
        with pytest.raises(NotFound) as e:
            vault.put_credentials(99999, client_id="x")
        assert e.value.reason == "no_such_account"
        with pytest.raises(CapacityError) as capacity:
            vault.put_credentials(3, client_id="ok", refresh_token="t" * 333)
        assert capacity.value.reason == "capacity"
        with pytest.raises(NotFound):  # nothing was written by the refused put
            vault.get_credentials(3)
        vault.put_credentials(3, refresh_token="t" * 332)
        vault.put_credentials(4, client_secret="secret-of-4")
        # a value moved to another account / column fails; never a value
        sql(db, "UPDATE credentials SET client_secret = (SELECT client_secret FROM credentials WHERE account_id = 4) "
                "WHERE account_id = 3")
        with pytest.raises(IntegrityError) as moved:
            vault.get_credentials(3)
        assert moved.value.reason == "auth_failed"
        sql(db, "UPDATE credentials SET client_id = client_secret WHERE account_id = 4")
        with pytest.raises(IntegrityError):
            vault.get_credentials(4)
    with Vault.open(f"dbname={db}", Keyring(other), migrations_dir=MIGRATIONS) as vault:
        with pytest.raises(UnknownKid):
            vault.get_credentials(4)


def test_schema_behind(cli, empty_db):
    key = cli.keygen()
    cli.run("migrate", "-q", "--to", "20260215_0001", db=empty_db, key=key)
    for env in ("production", "staging"):
        with pytest.raises(SchemaBehind) as e:
            Vault.open(f"dbname={empty_db}", Keyring(key), environment=env, migrations_dir=MIGRATIONS)
        assert e.value.pending == ["20260215_0002", "20260215_0003", "20261207_0004", "20261207_0005", "20261207_0006"] and "20260215_0002" in str(e.value)
        with pytest.raises(SchemaBehind):
            asyncio.run(AsyncVault.open(f"dbname={empty_db}", Keyring(key), environment=env,
                                        migrations_dir=MIGRATIONS))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Vault.open(f"dbname={empty_db}", Keyring(key), environment="development", migrations_dir=MIGRATIONS).close()
    assert any("20260215_0002" in str(w.message) for w in caught)


def test_async_vault_asyncpg_and_sqlalchemy(cli, db):
    key = cli.keygen()

    async def main() -> None:
        pool = await asyncpg.create_pool(database=db, min_size=1, max_size=4, statement_cache_size=0)
        vault = await AsyncVault.open(pool, Keyring(key), migrations_dir=MIGRATIONS)
        await vault.put_credentials(11, **PLAIN)
        await vault.put_credentials(12, client_id="async-12")
        assert (await vault.get_credentials(11)).refresh_token.reveal() == PLAIN["refresh_token"]
        with pytest.raises(NotFound):
            await vault.put_credentials(99999, client_id="x")
        with pytest.raises(CapacityError):
            await vault.put_credentials(12, refresh_token="t" * 400)
        await pool.close()
        engine = create_async_engine(f"postgresql+asyncpg:///{db}")
        vault = await AsyncVault.open(engine, Keyring(key), migrations_dir=MIGRATIONS)
        await vault.put_credentials(12, client_secret="sa-secret-12")
        got = await vault.get_credentials(12)
        assert got.client_id.reveal() == "async-12" and got.client_secret.reveal() == "sa-secret-12"
        with pytest.raises(NotFound):
            await vault.put_credentials(99999, client_id="x")
        with pytest.raises(NotFound):
            await vault.get_credentials(99999)
        await engine.dispose()
        async with await AsyncVault.open(f"postgresql+asyncpg:///{db}", Keyring(key),
                                         migrations_dir=MIGRATIONS) as owned:
            assert (await owned.get_credentials(12)).client_secret.reveal() == "sa-secret-12"

    asyncio.run(main())
    assert cli.get(db, key, 12)["client_secret"] == "sa-secret-12"
    assert cli.run("verify", db=db, key=key).returncode == 0


def test_retry_once_on_a_lost_connection(cli, db, caplog):
    """A backend terminated between calls (server restart, failover): the next call retries on a new
    connection, as the C++ Vault does."""
    import psycopg2.pool

    key = cli.keygen()
    kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    pool = psycopg2.pool.ThreadedConnectionPool(1, 1, dbname=db)
    with pytest.raises(UsageError):  # a pool of the caller's is sized by it, even to the default
        Vault.open(pool, Keyring(key), migrations_dir=MIGRATIONS, max_connections=10)
    with Vault.open(pool, Keyring(key), migrations_dir=MIGRATIONS) as vault:
        vault.put_credentials(9, client_id="before")
        assert sql(db, kill, (db,))[0][0] >= 1
        vault.put_credentials(9, client_id="after")
        assert sql(db, kill, (db,))[0][0] >= 1
        assert vault.get_credentials(9).client_id.reveal() == "after"
    assert not pool.closed  # the caller's pool: closing the vault leaves it open
    with pytest.raises(psycopg2.InterfaceError):  # a closed vault is not usable
        vault.get_credentials(9)
    pool.closeall()
    assert caplog.text.count("retrying once") == 2

    async def main() -> None:
        apool = await asyncpg.create_pool(database=db, min_size=1, max_size=1, statement_cache_size=0)
        vault = await AsyncVault.open(apool, Keyring(key), migrations_dir=MIGRATIONS)
        assert (await vault.get_credentials(9)).client_id.reveal() == "after"
        assert sql(db, kill, (db,))[0][0] >= 1
        await vault.put_credentials(9, client_id="async-after")
        assert sql(db, kill, (db,))[0][0] >= 1
        assert (await vault.get_credentials(9)).client_id.reveal() == "async-after"
        await apool.close()

    asyncio.run(main())
    assert caplog.text.count("retrying once") == 4


def test_retired_kid_is_refused_even_with_the_key_in_the_ring(cli, db, tmp_path):
    from credvault import RetiredKid

    a, b = cli.keygen(), cli.keygen()
    key_file = tmp_path / "a.key"
    key_file.write_text(a + "\n")
    key_file.chmod(0o600)
    # exec: sources resolve as in the C++ tool.
    ring_a = Keyring.from_env({"SECRET_KEY": f"exec:cat '{key_file}'"})
    assert ring_a.primary_kid == Keyring(a).primary_kid
    with Vault.open(f"dbname={db}", ring_a, migrations_dir=MIGRATIONS) as vault:
        vault.put_credentials(9, client_secret="old-under-a")
    old = sql(db, "SELECT client_secret FROM credentials WHERE account_id = 9")[0][0]
    cli.run("rotate", db=db, key=b, fallbacks=[a])
    cli.run("keys", "retire", ring_a.primary_kid, "--yes", db=db, key=b)
    sql(db, "UPDATE credentials SET client_secret = %s WHERE account_id = 9", (old,))  # an old backup restored
    with Vault.open(f"dbname={db}", Keyring(b, [a]), migrations_dir=MIGRATIONS) as vault:
        with pytest.raises(RetiredKid) as e:
            vault.get_credentials(9)
        assert e.value.kid == ring_a.primary_kid and e.value.reason == "retired_kid"
        assert "old-under-a" not in str(e.value)
    with Vault.open(f"dbname={db}", Keyring(a), migrations_dir=MIGRATIONS) as vault:  # a retired primary
        with pytest.raises(RetiredKid):
            vault.put_credentials(10, client_secret="never-under-a")

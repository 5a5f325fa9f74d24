"""AsyncVault.open(dsn): asyncpg's statement cache on a direct connection, none through a pooler.

Named prepared statements save a Parse/Describe round trip per call, but a transaction pooler
(PgBouncer 1.18 in transaction mode) runs each transaction on whichever server connection is free,
where a statement prepared on another one does not exist: open detects the pooler as the C++ tool
does (the backend pid handed to the client is not pg_backend_pid()), or is told with pooler=.
"""
from __future__ import annotations

import asyncio
import random

import asyncpg
import psycopg2
import pytest

from conftest import MIGRATIONS, sql
from credvault import AsyncVault, Keyring, UsageError

SELECT_TEXT = "FROM credentials WHERE account_id = $1"


def _pooled(pooler, db: str) -> str:
    return f"host={pooler['host']} port={pooler['port']} dbname={db}"


async def _prepared(vault: AsyncVault) -> list:
    """The named statements on the vault's idle connections (pg_prepared_statements is per session)."""
    out = []
    for conn in list(vault._backend._pool._idle):
        out += [r[0] for r in await conn.fetch("SELECT statement FROM pg_prepared_statements")]
    return out


def test_direct_dsn_uses_the_statement_cache(cli, db, caplog):
    key = cli.keygen()
    others = ("SELECT state, query FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
              "AND backend_type = 'client backend'")

    async def main() -> None:
        async with await AsyncVault.open(f"dbname={db}", Keyring(key), migrations_dir=MIGRATIONS) as vault:
            assert vault.statement_cache is True
            for account in range(1, 31):
                await vault.put_credentials(account, client_id=f"direct-{account}", refresh_token=f"tok-{account}")
            got = await asyncio.gather(*(vault.get_credentials(a) for a in range(1, 31)))
            assert [g.client_id.reveal() for g in got] == [f"direct-{a}" for a in range(1, 31)]
            assert any(SELECT_TEXT in s for s in await _prepared(vault))  # on the idle connections
            # Released connections are not reset (no session state to undo): the last statement each
            # idle connection ran is the vault's own, never asyncpg's "RESET ALL" reset query.
            await vault.get_credentials(5)
            activity = sql(db, others, (db,))
            assert activity and all("RESET ALL" not in q for _, q in activity)
            assert any(SELECT_TEXT in q for state, q in activity if state == "idle")
            # A migration widening a column changes the cached statement's result type: asyncpg
            # prepares it again, the call succeeds.
            sql(db, "ALTER TABLE credentials ALTER COLUMN client_id TYPE varchar(1024)")
            assert (await vault.get_credentials(7)).client_id.reveal() == "direct-7"
            # A lost connection is still retried once, on the pool open created.
            assert sql(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                           "AND pid <> pg_backend_pid()", (db,))[0][0] >= 1
            assert (await vault.get_credentials(8)).client_id.reveal() == "direct-8"

    asyncio.run(main())
    assert "retrying once" in caplog.text


def test_pooler_option_overrides_the_detection(cli, db):
    key = cli.keygen()

    async def main() -> None:
        async with await AsyncVault.open(f"dbname={db}", Keyring(key), migrations_dir=MIGRATIONS,
                                         pooler=True) as vault:
            assert vault.statement_cache is False
            await vault.put_credentials(3, client_secret="s-3")
            for _ in range(20):
                assert (await vault.get_credentials(3)).client_secret.reveal() == "s-3"
            assert vault._backend._pool._idle and await _prepared(vault) == []
        pool = await asyncpg.create_pool(database=db, min_size=1, max_size=2, statement_cache_size=0)
        try:
            with pytest.raises(UsageError):
                await AsyncVault.open(pool, Keyring(key), migrations_dir=MIGRATIONS, pooler=False)
            with pytest.raises(UsageError):  # even the default size: a pool of the caller's is sized by it
                await AsyncVault.open(pool, Keyring(key), migrations_dir=MIGRATIONS, max_connections=10)
            vault = await AsyncVault.open(pool, Keyring(key), migrations_dir=MIGRATIONS)
            assert vault.statement_cache is None  # a pool of the caller's: its own settings
        finally:
            await pool.close()
        with pytest.raises(UsageError):
            await AsyncVault.open(f"dbname={db}", Keyring(key), migrations_dir=MIGRATIONS, pooler="yes")
        with pytest.raises(UsageError):
            await AsyncVault.open(f"dbname={db}", Keyring(key), migrations_dir=MIGRATIONS, max_connections=0)

    asyncio.run(main())


async def _hammer(vault: AsyncVault, tasks: int, calls: int, seed: int) -> list:
    """tasks x calls get/put on accounts 1..20; returns the exceptions raised (none expected)."""
    errors: list = []

    async def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        for i in range(calls):
            try:
                account = rng.randint(1, 20)
                if i % 5 == 0:
                    await vault.put_credentials(account, client_secret=f"s-{seed}-{n}-{i}")
                got = await vault.get_credentials(account)
                assert got.client_id.reveal() == f"pooled-{account}"
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                errors.append(e)

    await asyncio.gather(*(worker(n) for n in range(tasks)))
    return errors


def test_default_through_pgbouncer_detects_the_pooler(cli, db, pooler):
    """The default path (a DSN, pooler detected) through PgBouncer in transaction mode: many calls
    from two vaults and a third client sharing the pooler's few server connections."""
    key = cli.keygen()
    pooled = _pooled(pooler, db)

    async def main() -> None:
        async with await AsyncVault.open(pooled, Keyring(key), migrations_dir=MIGRATIONS) as a, \
                await AsyncVault.open(pooled, Keyring(key), migrations_dir=MIGRATIONS) as b:
            assert a.statement_cache is False and b.statement_cache is False
            for account in range(1, 21):
                await a.put_credentials(account, client_id=f"pooled-{account}")
            other = await asyncpg.create_pool(host=pooler["host"], port=int(pooler["port"]), database=db,
                                              min_size=5, max_size=5, statement_cache_size=0)

            async def third_client() -> None:
                for i in range(200):
                    assert await other.fetchval("SELECT count(*) FROM credentials WHERE account_id <= $1",
                                                20) == 20

            try:
                results = await asyncio.gather(_hammer(a, 20, 40, 1), _hammer(b, 20, 40, 2), third_client())
            finally:
                await other.close()
            assert results[0] == [] and results[1] == []

    asyncio.run(main())
    assert cli.run("verify", db=db, key=key).returncode == 0


def test_named_statements_through_pgbouncer_fail(cli, db, pooler):
    """Why the detection matters: told pooler=False through PgBouncer 1.18 in transaction mode, the
    vault's named statements meet server connections that do not hold them (or hold another
    client's), and calls fail."""
    key = cli.keygen()
    pooled = _pooled(pooler, db)

    async def main() -> list:
        async with await AsyncVault.open(pooled, Keyring(key), migrations_dir=MIGRATIONS) as setup:
            for account in range(1, 21):
                await setup.put_credentials(account, client_id=f"pooled-{account}")
        async with await AsyncVault.open(pooled, Keyring(key), migrations_dir=MIGRATIONS, pooler=False) as a, \
                await AsyncVault.open(pooled, Keyring(key), migrations_dir=MIGRATIONS, pooler=False) as b:
            assert a.statement_cache is True
            results = await asyncio.gather(_hammer(a, 20, 20, 1), _hammer(b, 20, 20, 2))
            return results[0] + results[1]

    errors = asyncio.run(main())
    assert errors, "named prepared statements worked through the transaction pooler"
    assert all("prepared statement" in str(e) for e in errors), [str(e) for e in errors[:3]]


def test_own_pool_bounds_connections_and_survives_cancellation(cli, db):
    """The pool AsyncVault.open(dsn) creates: never more than max_connections server sessions, calls
    beyond that wait their turn, cancelled calls (waiting or running) give their place back."""
    key = cli.keygen()
    sessions = ("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'")
    # One watching session for the whole test: a new connection per count (conftest's sql) left the
    # previous one's backend still listed for a moment after its close, and it was counted as the
    # vault's (peak 3 of 2 on a loaded CI machine).
    watcher = psycopg2.connect(dbname=db)
    watcher.autocommit = True

    def count_sessions() -> int:
        with watcher.cursor() as cur:
            cur.execute(sessions, (db,))
            return int(cur.fetchone()[0])

    async def main() -> None:
        vault = await AsyncVault.open(f"dbname={db}", Keyring(key), migrations_dir=MIGRATIONS, max_connections=2)
        for account in range(1, 21):
            await vault.put_credentials(account, client_id=f"c-{account}")
        peak = 0

        async def watch() -> None:
            nonlocal peak
            for _ in range(40):
                peak = max(peak, count_sessions())
                await asyncio.sleep(0.005)

        got = await asyncio.gather(watch(), *(vault.get_credentials(1 + n % 20) for n in range(400)))
        assert [g.client_id.reveal() for g in got[1:]] == [f"c-{1 + n % 20}" for n in range(400)]
        assert 1 <= peak <= 2
        # Cancel calls while they wait for a connection and while they run.
        for round_ in range(20):
            tasks = [asyncio.ensure_future(vault.get_credentials(1 + n % 20)) for n in range(30)]
            await asyncio.sleep(0.0005 * round_)
            for t in tasks[::2]:
                t.cancel()
            done = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(d, asyncio.CancelledError) or d.client_id.reveal().startswith("c-") for d in done)
        got = await asyncio.gather(*(vault.get_credentials(1 + n % 20) for n in range(100)))
        assert len(got) == 100
        assert count_sessions() <= 2
        await vault.close()
        with pytest.raises(asyncpg.InterfaceError):
            await vault.get_credentials(1)
        for _ in range(50):
            if count_sessions() == 0:
                break
            await asyncio.sleep(0.05)
        assert count_sessions() == 0

    try:
        asyncio.run(main())
    finally:
        watcher.close()


def test_works_without_uvloop(cli, db):
    """uvloop is optional: with it made unimportable, the package opens an AsyncVault on a DSN and
    reads, on asyncio's own loop."""
    import os
    import subprocess
    import sys

    key = cli.keygen()
    cli.run("put", "--account", "4", db=db, key=key, stdin='{"client_id": "no-uvloop"}')
    code = f"""
import asyncio, sys
sys.modules["uvloop"] = None  # import uvloop now raises ImportError
from credvault import AsyncVault, Keyring

async def main():
    async with await AsyncVault.open("dbname={db}", Keyring(sys.stdin.read()), migrations_dir={MIGRATIONS!r}) as v:
        print((await v.get_credentials(4)).client_id.reveal(), type(asyncio.get_running_loop()).__module__)

asyncio.run(main())
"""
    # The same interpreter and environment as pytest's: the credvault under test is the one imported.
    out = subprocess.run([sys.executable, "-c", code], input=key, capture_output=True, text=True,
                         env=dict(os.environ), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["no-uvloop", "asyncio.unix_events"]

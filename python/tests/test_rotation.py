"""`credvault rotate` runs while Python applications read and write (asyncio and threads)."""
from __future__ import annotations

import asyncio
import os
import random
import subprocess
import threading
import time
from typing import Dict, List, Tuple

import asyncpg
import psycopg2
import psycopg2.extras
import psycopg2.pool

from conftest import MIGRATIONS, sql
from credvault import AsyncVault, Keyring, Vault

ACCOUNTS = 2000
COLUMNS = ("client_id", "client_secret", "refresh_token")
Expected = Dict[Tuple[int, str], str]


def seed(db: str, old: Keyring) -> Expected:
    expected: Expected = {}
    rows = []
    for account in range(1, ACCOUNTS + 1):
        values = []
        for column in COLUMNS:
            expected[(account, column)] = f"seed-{column}-{account}"
            values.append(old.encrypt(expected[(account, column)], column=column, account_id=account))
        rows.append((account, *values))
    conn = psycopg2.connect(dbname=db)
    with conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur, "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token) VALUES %s", rows)
    conn.close()
    return expected


def rotate_env(cli, new_key: str, old_key: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=old_key)
    return env


def check_final(cli, db: str, new_key: str, expected: Expected) -> None:
    only_new = Keyring(new_key)
    rows = sql(db, "SELECT account_id, client_id, client_secret, refresh_token FROM credentials")
    assert len(rows) == ACCOUNTS
    for account, *values in rows:
        for column, value in zip(COLUMNS, values):
            got = only_new.decrypt(value, column=column, account_id=account).reveal()
            assert got == expected[(account, column)], (account, column)
    assert cli.run("verify", db=db, key=new_key).returncode == 0


def next_write(rng: random.Random, owner: int, total: int, serial: int) -> Tuple[int, Dict[str, str]]:
    account = rng.randrange(owner + 1, ACCOUNTS + 1, total)  # accounts ≡ owner+1 (mod total): one writer each
    columns = rng.sample(COLUMNS, rng.randint(1, 3))
    return account, {c: f"w{owner}-{serial}-{c}-{rng.random():.12f}" for c in columns}


def test_rotation_under_asyncio_load(cli, db):
    old_key, new_key = cli.keygen(), cli.keygen()
    expected = seed(db, Keyring(old_key))
    errors: List[BaseException] = []
    stats = {"ops": 0, "ops_during_rotate": 0}
    tasks_n = 50

    async def main() -> int:
        pool = await asyncpg.create_pool(database=db, min_size=10, max_size=20, statement_cache_size=0)
        vault = await AsyncVault.open(pool, Keyring(new_key, [old_key]), migrations_dir=MIGRATIONS)
        stop = asyncio.Event()
        rotating = {"on": False}

        async def worker(owner: int) -> None:
            rng = random.Random(owner)
            serial = 0
            while not stop.is_set():
                try:
                    if rng.random() < 0.5:
                        account = rng.randint(1, ACCOUNTS)
                        got = await vault.get_credentials(account)
                        if (account - 1) % tasks_n == owner:  # own account: sees its own last write
                            for c in COLUMNS:
                                assert getattr(got, c).reveal() == expected[(account, c)]
                    else:
                        serial += 1
                        account, values = next_write(rng, owner, tasks_n, serial)
                        await vault.put_credentials(account, **values)
                        for c, v in values.items():
                            expected[(account, c)] = v
                    stats["ops"] += 1
                    stats["ops_during_rotate"] += rotating["on"]
                except BaseException as e:  # noqa: B902 - every failure counts
                    errors.append(e)
                    return

        workers = [asyncio.create_task(worker(i)) for i in range(tasks_n)]
        await asyncio.sleep(0.3)
        rotating["on"] = True
        proc = await asyncio.create_subprocess_exec(
            cli.path, "--env", "staging", "--database-url", f"dbname={db}", "--migrations-dir", MIGRATIONS,
            "rotate", "--batch-size", "200", env=rotate_env(cli, new_key, old_key),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, stderr = await proc.communicate()
        rotating["on"] = False
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)
        await vault.close()
        await pool.close()
        assert proc.returncode == 0, stderr.decode()
        return proc.returncode

    asyncio.run(main())
    assert not errors, [repr(e) for e in errors[:5]]
    assert stats["ops_during_rotate"] > 0 and stats["ops"] > 200, stats
    check_final(cli, db, new_key, expected)


def test_rotation_under_threads(cli, db):
    old_key, new_key = cli.keygen(), cli.keygen()
    expected = seed(db, Keyring(old_key))
    errors: List[BaseException] = []
    threads_n = 8
    stop = threading.Event()
    rotating = threading.Event()
    counts = [0] * threads_n
    during = [0] * threads_n
    pool = psycopg2.pool.ThreadedConnectionPool(1, threads_n, dbname=db)  # the application's own pool
    vault = Vault.open(pool, Keyring(new_key, [old_key]), migrations_dir=MIGRATIONS)

    def worker(owner: int) -> None:
        rng = random.Random(1000 + owner)
        serial = 0
        while not stop.is_set():
            try:
                if rng.random() < 0.5:
                    account = rng.randint(1, ACCOUNTS)
                    got = vault.get_credentials(account)
                    if (account - 1) % threads_n == owner:
                        for c in COLUMNS:
                            assert getattr(got, c).reveal() == expected[(account, c)]
                else:
                    serial += 1
                    account, values = next_write(rng, owner, threads_n, serial)
                    vault.put_credentials(account, **values)
                    for c, v in values.items():
                        expected[(account, c)] = v
                counts[owner] += 1
                during[owner] += rotating.is_set()
            except BaseException as e:  # noqa: B902
                errors.append(e)
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        rotating.set()
        proc = subprocess.run([cli.path, "--env", "staging", "--database-url", f"dbname={db}", "--migrations-dir",
                               MIGRATIONS, "rotate", "--batch-size", "200"], env=rotate_env(cli, new_key, old_key),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120)
        rotating.clear()
        time.sleep(0.3)
        # Enough calls to judge by, however slow the machine (a loaded run once made 99 in all).
        settle = time.monotonic() + 30
        while sum(counts) <= 100 and not errors and time.monotonic() < settle:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
        vault.close()
        pool.closeall()
    assert proc.returncode == 0, proc.stderr
    assert not errors, [repr(e) for e in errors[:5]]
    assert sum(during) > 0 and sum(counts) > 100, (counts, during)
    check_final(cli, db, new_key, expected)

"""Vault and AsyncVault through PgBouncer in transaction mode: no session state, no named statements."""
from __future__ import annotations

import asyncio
import random

import asyncpg

from conftest import MIGRATIONS
from credvault import AsyncVault, Keyring, Vault


def test_through_pgbouncer_transaction_mode(cli, db, pooler):
    key = cli.keygen()
    pooled = f"host={pooler['host']} port={pooler['port']} dbname={db}"
    with Vault.open(pooled, Keyring(key), migrations_dir=MIGRATIONS) as vault:
        for account in range(1, 21):
            vault.put_credentials(account, client_id=f"pooled-{account}", refresh_token=f"tok-{account}")
        assert vault.get_credentials(20).client_id.reveal() == "pooled-20"

    async def main() -> None:
        pool = await asyncpg.create_pool(host=pooler["host"], port=int(pooler["port"]), database=db, min_size=20,
                                         max_size=20, statement_cache_size=0)
        vault = await AsyncVault.open(pool, Keyring(key), migrations_dir=MIGRATIONS)

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            for n in range(40):
                account = seed + 1  # one writer per account
                await vault.put_credentials(account, client_secret=f"s-{seed}-{n}")
                got = await vault.get_credentials(account)
                assert got.client_secret.reveal() == f"s-{seed}-{n}"
                other = await vault.get_credentials(rng.randint(1, 20))
                assert other.client_id.reveal().startswith("pooled-")

        await asyncio.gather(*(worker(i) for i in range(20)))
        await pool.close()

    asyncio.run(main())
    assert cli.get(db, key, 7)["client_secret"] == "s-6-39"
    assert cli.run("verify", db=db, key=key).returncode == 0

#!/usr/bin/python3
"""The Python package (python/src) in scripts/bench.sh: run by scripts/bench/run.sh inside the
throwaway server, on its database (credentials encrypted under SECRET_KEY).

  1. Keyring.decrypt values/s, one thread (one core), over the table's values held in memory;
  2. Fernet (python3-cryptography, as scripts/bench/fernet_peer.py) decrypt values/s of the same plaintexts;
  3. AsyncVault.get_credentials latency (asyncpg pool, statement_cache_size=0) at 50 concurrent tasks.
Prints a table and one JSON line. usage: python_bench.py MIGRATIONS_DIR
"""
import asyncio
import json
import os
import random
import sys
import time

import asyncpg
import psycopg2
from cryptography.fernet import Fernet

import credvault

COLUMNS = ("client_id", "client_secret", "refresh_token")
SAMPLE = 60000
CALLS = 10000
TASKS = 50


def main() -> int:
    migrations = sys.argv[1]
    ring = credvault.Keyring.from_env()
    conn = psycopg2.connect(os.environ.get("DATABASE_URL", ""))
    with conn.cursor() as cur:
        cur.execute("SELECT account_id, client_id, client_secret, refresh_token FROM credentials ORDER BY account_id "
                    "LIMIT %s", (SAMPLE // 3 + 1,))
        rows = cur.fetchall()
    conn.close()
    values = [(v, c, r[0]) for r in rows for c, v in zip(COLUMNS, r[1:]) if v is not None][:SAMPLE]
    accounts = [r[0] for r in rows]

    decrypt = ring.decrypt
    start = time.perf_counter()
    plaintexts = [decrypt(v, column=c, account_id=a).reveal_bytes() for v, c, a in values]
    py_rate = len(values) / (time.perf_counter() - start)

    fernet = Fernet(Fernet.generate_key())
    tokens = [fernet.encrypt(p) for p in plaintexts]
    start = time.perf_counter()
    for token in tokens:
        fernet.decrypt(token)
    fernet_rate = len(tokens) / (time.perf_counter() - start)

    async def latency() -> list:
        pool = await asyncpg.create_pool(os.environ.get("DATABASE_URL", ""), min_size=TASKS // 2, max_size=TASKS // 2,
                                         statement_cache_size=0)
        vault = await credvault.AsyncVault.open(pool, ring, environment="staging", migrations_dir=migrations)
        samples: list = []
        rng = random.Random(1)

        async def worker(n: int) -> None:
            for _ in range(n):
                account = rng.choice(accounts)
                t0 = time.perf_counter()
                await vault.get_credentials(account)
                samples.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker(200) for _ in range(TASKS)))  # warm-up
        samples.clear()
        await asyncio.gather(*(worker(CALLS // TASKS) for _ in range(TASKS)))
        await pool.close()
        return sorted(samples)

    lat = asyncio.run(latency())
    p50 = lat[len(lat) // 2] * 1e6
    p99 = lat[int(len(lat) * 0.99)] * 1e6
    load = os.getloadavg()[0]
    print(f"\npython package: {len(values)} values, load average {load:.2f}")
    print(f"{'python Keyring.decrypt (values/s, 1 core)':<44} {py_rate:12.0f}")
    print(f"{'python Fernet decrypt (values/s, 1 core)':<44} {fernet_rate:12.0f}")
    print(f"{'python decrypt speed-up over Fernet':<44} {py_rate / fernet_rate:11.2f}x")
    print(f"{'AsyncVault.get_credentials p50 (us, 50 tasks)':<44} {p50:12.0f}")
    print(f"{'AsyncVault.get_credentials p99 (us, 50 tasks)':<44} {p99:12.0f}")
    print(json.dumps({"python_decrypt_values_per_s": round(py_rate), "python_fernet_decrypt_values_per_s":
                      round(fernet_rate), "async_get_p50_us": round(p50), "async_get_p99_us": round(p99),
                      "async_tasks": TASKS, "loadavg_1m": round(load, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The Python package (python/src) in scripts/bench.sh: run by scripts/bench/run.sh inside the
throwaway server, on its database (credentials encrypted under SECRET_KEY).

  1. Keyring.decrypt values/s, one thread (one core), over the table's values held in memory;
  2. Fernet (python3-cryptography, as scripts/bench/fernet_peer.py) decrypt values/s of the same plaintexts;
  3. AsyncVault.get_credentials latency (asyncpg pool, statement_cache_size=0) at 50 concurrent tasks:
     - saturated: each task calls again as soon as its call returns (a throughput test: by Little's law
       the latency is 50 / the calls per second one event loop can make);
     - paced: each task calls at random moments, 10 times a second on average (500 calls/s in all,
       a busy API process), so the latency is the call's own plus whatever queueing that load causes;
     - at 1 task (the call alone).
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
from credvault.vault import _asyncpg_connect_args as asyncpg_connect_args

COLUMNS = ("client_id", "client_secret", "refresh_token")
SAMPLE = 60000
CALLS = 10000
TASKS = 50
PACED_RATE_PER_TASK = 10.0  # calls/s per task when paced (500 calls/s in all)


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

    async def latency(tasks: int, per_task_rate: float = 0.0) -> list:
        dsn, kwargs = asyncpg_connect_args(os.environ.get("DATABASE_URL", ""))  # libpq conninfo → asyncpg
        size = max(1, tasks // 2)
        pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size, statement_cache_size=0, **kwargs)
        vault = await credvault.AsyncVault.open(pool, ring, environment="staging", migrations_dir=migrations)
        samples: list = []
        rng = random.Random(1)

        async def worker(n: int) -> None:
            for _ in range(n):
                if per_task_rate:  # Poisson arrivals: exponential gaps
                    await asyncio.sleep(rng.expovariate(per_task_rate))
                account = rng.choice(accounts)
                t0 = time.perf_counter()
                await vault.get_credentials(account)
                samples.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker(max(20, 2000 // tasks)) for _ in range(tasks)))  # warm-up
        samples.clear()
        await asyncio.gather(*(worker(CALLS // tasks) for _ in range(tasks)))
        await pool.close()
        return sorted(samples)

    lat = asyncio.run(latency(TASKS))
    p50 = lat[len(lat) // 2] * 1e6
    p99 = lat[int(len(lat) * 0.99)] * 1e6
    paced = asyncio.run(latency(TASKS, PACED_RATE_PER_TASK))
    p50_paced, p99_paced = paced[len(paced) // 2] * 1e6, paced[int(len(paced) * 0.99)] * 1e6
    # One task: the latency of a call itself, without the queueing of 50 (Little's law: at 50 tasks
    # p50 ~ 50 / throughput).
    one = asyncio.run(latency(1))
    p50_1, p99_1 = one[len(one) // 2] * 1e6, one[int(len(one) * 0.99)] * 1e6
    load = os.getloadavg()[0]
    print(f"\npython package: {len(values)} values, load average {load:.2f}")
    print(f"{'python Keyring.decrypt (values/s, 1 core)':<56} {py_rate:12.0f}")
    print(f"{'python Fernet decrypt (values/s, 1 core)':<56} {fernet_rate:12.0f}")
    print(f"{'python decrypt speed-up over Fernet':<56} {py_rate / fernet_rate:11.2f}x")
    print(f"{'AsyncVault.get_credentials p50 (us, 50 tasks, saturated)':<56} {p50:12.0f}")
    print(f"{'AsyncVault.get_credentials p99 (us, 50 tasks, saturated)':<56} {p99:12.0f}")
    print(f"{'AsyncVault.get_credentials calls/s (50 tasks, saturated)':<56} {TASKS / (p50 / 1e6):12.0f}")
    print(f"{'AsyncVault.get_credentials p50 (us, 50 tasks, 500 calls/s)':<56} {p50_paced:12.0f}")
    print(f"{'AsyncVault.get_credentials p99 (us, 50 tasks, 500 calls/s)':<56} {p99_paced:12.0f}")
    print(f"{'AsyncVault.get_credentials p50 (us, 1 task)':<56} {p50_1:12.0f}")
    print(f"{'AsyncVault.get_credentials p99 (us, 1 task)':<56} {p99_1:12.0f}")
    print(json.dumps({"async_get_1task_p50_us": round(p50_1), "async_get_1task_p99_us": round(p99_1),"python_decrypt_values_per_s": round(py_rate), "python_fernet_decrypt_values_per_s":
                      round(fernet_rate), "async_get_p50_us": round(p50), "async_get_p99_us": round(p99),
                      "async_get_paced_p50_us": round(p50_paced), "async_get_paced_p99_us": round(p99_paced),
                      "async_tasks": TASKS, "loadavg_1m": round(load, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

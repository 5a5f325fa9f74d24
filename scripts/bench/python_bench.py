#!/usr/bin/python3
"""The Python package (python/src) in scripts/bench.sh: run by scripts/bench/run.sh inside the
throwaway server, on its database (credentials encrypted under SECRET_KEY).

  1. Keyring.decrypt values/s, one thread (one core), over the table's values held in memory;
  2. Fernet (python3-cryptography, as scripts/bench/fernet_peer.py) decrypt values/s of the same plaintexts;
  3. AsyncVault.get_credentials latency at 50 concurrent tasks, on the pool AsyncVault.open(DSN)
     creates (the DSN reaches the server directly: asyncpg's statement cache on, detected):
     - saturated: each task calls again as soon as its call returns (a throughput test: by Little's law
       the latency is 50 / the calls per second one event loop can make);
     - paced: each task calls at random moments, 10 times a second on average (500 calls/s in all,
       a busy API process), so the latency is the call's own plus whatever queueing that load causes;
     - at 1 task (the call alone);
     on asyncio's default event loop, and on uvloop when python3-uvloop is installed; and paced with
     pooler=True (no statement cache: what a DSN through PgBouncer gets, here on the direct server).
Prints a table and one JSON line. usage: python_bench.py MIGRATIONS_DIR
"""
import asyncio
import json
import os
import random
import sys
import time

import psycopg2
from cryptography.fernet import Fernet

import credvault

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

    dsn = os.environ.get("DATABASE_URL", "")

    async def latency(tasks: int, per_task_rate: float = 0.0, pooler: bool = False) -> list:
        vault = await credvault.AsyncVault.open(dsn, ring, environment="staging", migrations_dir=migrations,
                                                pooler=True if pooler else None, max_connections=max(1, tasks // 2))
        assert vault.statement_cache is (not pooler), "the bench's DATABASE_URL must reach the server directly"
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
        start = time.perf_counter()
        await asyncio.gather(*(worker(CALLS // tasks) for _ in range(tasks)))
        wall = time.perf_counter() - start
        await vault.close()
        samples.sort()
        return [samples, len(samples) / wall]

    def pct(samples: list, q: float) -> float:
        return samples[int(len(samples) * q)] * 1e6

    loops = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop  # optional (python3-uvloop); the package itself never needs it
        loops["uvloop"] = uvloop.new_event_loop
    except ImportError:
        pass
    results: dict = {}
    for name, new_loop in loops.items():
        def run(coro: object) -> list:
            loop = new_loop()
            try:
                return loop.run_until_complete(coro)
            finally:
                loop.close()

        sat, rate = run(latency(TASKS))
        paced, _ = run(latency(TASKS, PACED_RATE_PER_TASK))
        # One task: the latency of a call itself, without the queueing of 50.
        one, _ = run(latency(1))
        results[name] = {"p50": pct(sat, 0.5), "p99": pct(sat, 0.99), "calls_per_s": rate,
                         "paced_p50": pct(paced, 0.5), "paced_p99": pct(paced, 0.99),
                         "1task_p50": pct(one, 0.5), "1task_p99": pct(one, 0.99)}
    nocache, _ = asyncio.run(latency(TASKS, PACED_RATE_PER_TASK, pooler=True))
    load = os.getloadavg()[0]
    print(f"\npython package: {len(values)} values, load average {load:.2f}")
    print(f"{'python Keyring.decrypt (values/s, 1 core)':<68} {py_rate:12.0f}")
    print(f"{'python Fernet decrypt (values/s, 1 core)':<68} {fernet_rate:12.0f}")
    print(f"{'python decrypt speed-up over Fernet':<68} {py_rate / fernet_rate:11.2f}x")
    for name, r in results.items():
        print(f"{f'AsyncVault.get_credentials p50 (us, 50 tasks, saturated, {name})':<68} {r['p50']:12.0f}")
        print(f"{f'AsyncVault.get_credentials p99 (us, 50 tasks, saturated, {name})':<68} {r['p99']:12.0f}")
        print(f"{f'AsyncVault.get_credentials calls/s (50 tasks, saturated, {name})':<68} {r['calls_per_s']:12.0f}")
        print(f"{f'AsyncVault.get_credentials p50 (us, 50 tasks, 500 calls/s, {name})':<68} {r['paced_p50']:12.0f}")
        print(f"{f'AsyncVault.get_credentials p99 (us, 50 tasks, 500 calls/s, {name})':<68} {r['paced_p99']:12.0f}")
        print(f"{f'AsyncVault.get_credentials p50 (us, 1 task, {name})':<68} {r['1task_p50']:12.0f}")
        print(f"{f'AsyncVault.get_credentials p99 (us, 1 task, {name})':<68} {r['1task_p99']:12.0f}")
    print(f"{'  pooler=True (no statement cache) p50 (us, 500 calls/s, asyncio)':<68} {pct(nocache, 0.5):12.0f}")
    print(f"{'  pooler=True (no statement cache) p99 (us, 500 calls/s, asyncio)':<68} {pct(nocache, 0.99):12.0f}")
    out = {"python_decrypt_values_per_s": round(py_rate), "python_fernet_decrypt_values_per_s": round(fernet_rate),
           "async_tasks": TASKS, "loadavg_1m": round(load, 2),
           "async_get_nocache_paced_p50_us": round(pct(nocache, 0.5)),
           "async_get_nocache_paced_p99_us": round(pct(nocache, 0.99))}
    for name, r in results.items():
        suffix = "" if name == "asyncio" else "_" + name
        out.update({f"async_get_p50_us{suffix}": round(r["p50"]), f"async_get_p99_us{suffix}": round(r["p99"]),
                    f"async_get_calls_per_s{suffix}": round(r["calls_per_s"]),
                    f"async_get_paced_p50_us{suffix}": round(r["paced_p50"]),
                    f"async_get_paced_p99_us{suffix}": round(r["paced_p99"]),
                    f"async_get_1task_p50_us{suffix}": round(r["1task_p50"]),
                    f"async_get_1task_p99_us{suffix}": round(r["1task_p99"])})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

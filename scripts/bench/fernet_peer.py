#!/usr/bin/python3
"""The peer credvault replaces: Fernet (python3-cryptography) + psycopg2.

  fernet_peer.py setup   : copy credentials (plaintext) into fernet_credentials, encrypted under key 1 (not timed)
  fernet_peer.py rotate  : MultiFernet-style rotation key 1 -> key 2 in batches of 5000 (timed by the caller)
  fernet_peer.py decrypt : decrypt every value (timed by the caller)
Connection from libpq's PG* variables / DATABASE_URL.
"""
import os
import sys

import psycopg2
import psycopg2.extras
from cryptography.fernet import Fernet

KEY1 = b"kQ3LQ1d2Zb0oQ8oQKkYx3y2r5mS0ZgP1Xb3Xb0m9R1E="
KEY2 = b"Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg="
COLUMNS = ("client_id", "client_secret", "refresh_token")
BATCH = 5000


def connect():
    return psycopg2.connect(os.environ.get("DATABASE_URL", ""))


def setup(conn):
    f = Fernet(KEY1)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS fernet_credentials; "
                    "CREATE TABLE fernet_credentials (id int PRIMARY KEY, client_id text, client_secret text, refresh_token text)")
        cur.execute("SELECT id, client_id, client_secret, refresh_token FROM credentials")
        rows = [(r[0],) + tuple(None if v is None else f.encrypt(v.encode()).decode() for v in r[1:]) for r in cur]
        psycopg2.extras.execute_values(cur, "INSERT INTO fernet_credentials VALUES %s", rows, page_size=BATCH)
    conn.commit()


def batches(conn):
    last = 0
    while True:
        with conn.cursor() as cur:
            cur.execute("SELECT id, client_id, client_secret, refresh_token FROM fernet_credentials "
                        "WHERE id > %s ORDER BY id LIMIT %s", (last, BATCH))
            rows = cur.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def rotate(conn):
    old, new = Fernet(KEY1), Fernet(KEY2)
    for rows in batches(conn):
        updated = [(r[0],) + tuple(None if v is None else new.encrypt(old.decrypt(v.encode())).decode() for v in r[1:])
                   for r in rows]
        with conn.cursor() as cur:
            psycopg2.extras.execute_values(
                cur, "UPDATE fernet_credentials f SET client_id = v.a, client_secret = v.b, refresh_token = v.c "
                     "FROM (VALUES %s) AS v(id, a, b, c) WHERE f.id = v.id", updated, page_size=BATCH)
        conn.commit()


def decrypt(conn):
    key = Fernet(KEY2)
    count = 0
    for rows in batches(conn):
        for r in rows:
            for v in r[1:]:
                if v is not None:
                    key.decrypt(v.encode())
                    count += 1
    print(count)


if __name__ == "__main__":
    connection = connect()
    {"setup": setup, "rotate": rotate, "decrypt": decrypt}[sys.argv[1]](connection)

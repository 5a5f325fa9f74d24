"""The blind index of client_id in the database: put_credentials and the ORM events write it,
find_accounts finds by it (Vault and AsyncVault), interop with the C++ CLI both ways."""
from __future__ import annotations

import asyncio
import json
import warnings
from typing import Dict, List

import asyncpg
import pytest
from sqlalchemy import Column, Integer, String, create_engine, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session, declarative_base

from conftest import MIGRATIONS, sql
from credvault import (AsyncVault, ClientAccount, IntegrityError, Keyring, NotEncrypted, RetiredKid, Secret, Unindexed,
                       UsageError, Vault)
from credvault.sqlalchemy import encrypt_columns

CLIENTS = [f"amzn1.application-oa2-client.{c * 32}" for c in "abc"]
ACCOUNTS_EACH = 30


def _layout() -> Dict[str, List[int]]:
    """3 clients x 30 accounts, interleaved: account i belongs to client (i - 1) % 3."""
    out: Dict[str, List[int]] = {c: [] for c in CLIENTS}
    for account in range(1, 3 * ACCOUNTS_EACH + 1):
        out[CLIENTS[(account - 1) % 3]].append(account)
    return out


def _expected(accounts: List[int]) -> List[ClientAccount]:
    return [ClientAccount(a, f"A{a}") for a in accounts]  # the template's amazon_account_id is 'A' || id


def _open(db: str, ring: Keyring, **kw: object) -> Vault:
    return Vault.open(f"dbname={db}", ring, migrations_dir=MIGRATIONS, **kw)


def _index_of(db: str, account: int) -> str:
    return sql(db, "SELECT client_id_bidx FROM credentials WHERE account_id = %s", (account,))[0][0]


def test_put_writes_the_index_under_the_kid_of_the_client_id(cli, db):
    key = cli.keygen()
    ring = Keyring(key)
    with _open(db, ring) as vault:
        vault.put_credentials(7, client_id=CLIENTS[0], client_secret="s-7", refresh_token="Atzr|7")
        vault.put_credentials(8, client_secret="s-8")                    # no client_id: no index
        vault.put_credentials(9, client_id=CLIENTS[1].encode())          # bytes index as their text
    stored, index = sql(db, "SELECT client_id, client_id_bidx FROM credentials WHERE account_id = 7")[0]
    assert index == ring.primary_client_id_index(CLIENTS[0]) and len(index) == 31
    assert stored.split(":")[2] == index.split(":")[0] == ring.primary_kid
    assert _index_of(db, 8) is None
    assert _index_of(db, 9) == ring.primary_client_id_index(CLIENTS[1])
    before = sql(db, "SELECT client_secret_changed_at FROM credentials WHERE account_id = 7")[0][0]
    assert before is not None  # stamped by the database's trigger: Python never writes it
    with _open(db, ring) as vault:
        vault.put_credentials(7, refresh_token="Atzr|7b")               # a put without client_id keeps the index
        assert _index_of(db, 7) == index
        vault.put_credentials(7, client_id=CLIENTS[2])                   # a new client_id, a new index
        assert _index_of(db, 7) == ring.primary_client_id_index(CLIENTS[2])
    assert sql(db, "SELECT client_secret_changed_at FROM credentials WHERE account_id = 7")[0][0] == before
    # the C++ tool reads what Python wrote, and its verify finds every row sound
    assert cli.get(db, key, 7)["client_id"] == CLIENTS[2]
    assert cli.run("verify", db=db, key=key).returncode == 0


def test_cli_verify_agrees_with_the_index_python_writes(cli, db):
    """verify recomputes the index in C++: clean on Python's rows, failing once one is changed."""
    key = cli.keygen()
    ring = Keyring(key)
    with _open(db, ring) as vault:
        for account in (1, 2, 3):
            vault.put_credentials(account, client_id=CLIENTS[account - 1])
    assert cli.run("verify", db=db, key=key).returncode == 0
    sql(db, "UPDATE credentials SET client_id_bidx = %s WHERE account_id = 2",
        (ring.primary_client_id_index(CLIENTS[0]),))
    bad = cli.run("verify", db=db, key=key, check=False)
    assert bad.returncode != 0 and "bad_blind_index" in bad.stdout + bad.stderr


def test_find_returns_exactly_each_clients_accounts(cli, db):
    key = cli.keygen()
    layout = _layout()
    with _open(db, Keyring(key)) as vault:
        for client, accounts in layout.items():
            for account in accounts:
                vault.put_credentials(account, client_id=client, client_secret=f"secret-{account}")
        vault.put_credentials(500, client_secret="no client_id")
        for client, accounts in layout.items():
            found = vault.find_accounts(client)
            assert found == _expected(accounts) and len(found) == ACCOUNTS_EACH
            assert found[0].account_id == accounts[0] and found[0].amazon_account_id == f"A{accounts[0]}"
        assert vault.find_accounts(Secret(CLIENTS[1])) == _expected(layout[CLIENTS[1]])
        assert vault.find_accounts(CLIENTS[1].encode()) == _expected(layout[CLIENTS[1]])
        assert vault.find_accounts("amzn1.application-oa2-client.unknown") == []
        assert vault.find_accounts(CLIENTS[0].upper()) == []             # exact bytes, no normalization
        assert vault.find_accounts(CLIENTS[0][:-1]) == []
        with pytest.raises(UsageError):
            vault.find_accounts(12345)  # type: ignore[arg-type]
        # moving an account to another client moves it in the answers
        vault.put_credentials(1, client_id=CLIENTS[2])
        assert [a.account_id for a in vault.find_accounts(CLIENTS[0])] == layout[CLIENTS[0]][1:]
        assert [a.account_id for a in vault.find_accounts(CLIENTS[2])] == sorted(layout[CLIENTS[2]] + [1])


def test_find_during_a_key_change(cli, db):
    """Rows half under the old key, half under the new one: a ring of new primary + old fallback finds all."""
    old, new = cli.keygen(), cli.keygen()
    layout = _layout()
    with _open(db, Keyring(old)) as vault:
        for client, accounts in layout.items():
            for account in accounts:
                vault.put_credentials(account, client_id=client)
    with _open(db, Keyring(new, [old])) as vault:
        for client, accounts in layout.items():
            for account in accounts[::2]:                                 # half re-written under the new key
                vault.put_credentials(account, client_id=client)
        kids = dict(sql(db, "SELECT left(client_id_bidx, 8), count(*) FROM credentials GROUP BY 1"))
        assert kids == {Keyring(old).primary_kid: 45, Keyring(new).primary_kid: 45}
        for client, accounts in layout.items():
            assert vault.find_accounts(client) == _expected(accounts)
    with _open(db, Keyring(new)) as vault:  # without the old key its rows cannot be told: only the new ones
        for client, accounts in layout.items():
            assert vault.find_accounts(client) == _expected(accounts[::2])


def test_find_refuses_while_rows_are_unindexed(cli, db):
    key = cli.keygen()
    ring = Keyring(key)
    with _open(db, ring) as vault:
        vault.put_credentials(1, client_id=CLIENTS[0])
        vault.put_credentials(2, client_id=CLIENTS[0])
        assert vault.find_accounts(CLIENTS[0]) == _expected([1, 2])
        sql(db, "UPDATE credentials SET client_id_bidx = NULL WHERE account_id = 2")   # encrypted before the index
        with pytest.raises(Unindexed) as e:
            vault.find_accounts(CLIENTS[0])
        assert e.value.reason == "unindexed" and "credvault encrypt" in str(e.value)
        assert CLIENTS[0] not in str(e.value)
        with pytest.raises(Unindexed):
            vault.find_accounts("amzn1.application-oa2-client.unknown")    # whatever is looked for
        sql(db, "UPDATE credentials SET client_id_bidx = %s WHERE account_id = 2",
            (ring.primary_client_id_index(CLIENTS[0]),))
        assert vault.find_accounts(CLIENTS[0]) == _expected([1, 2])
        sql(db, "INSERT INTO credentials (account_id, client_id) VALUES (3, 'plain-client-id')")  # plaintext
        with pytest.raises(Unindexed):
            vault.find_accounts(CLIENTS[0])
        sql(db, "DELETE FROM credentials WHERE account_id = 3")
        vault.put_credentials(4, client_secret="a secret, no client_id")   # NULL client_id needs no index
        assert vault.find_accounts(CLIENTS[0]) == _expected([1, 2])


def test_a_tampered_index_never_returns_another_clients_account(cli, db):
    key = cli.keygen()
    ring = Keyring(key)
    a_index = ring.primary_client_id_index(CLIENTS[0])
    with _open(db, ring) as vault:
        for account, client in ((1, CLIENTS[0]), (2, CLIENTS[1]), (3, CLIENTS[1]), (4, CLIENTS[0])):
            vault.put_credentials(account, client_id=client)
        # client B's rows given client A's index: matched by the index, dropped by the decrypted compare
        sql(db, "UPDATE credentials SET client_id_bidx = %s WHERE account_id IN (2, 3)", (a_index,))
        assert vault.find_accounts(CLIENTS[0]) == _expected([1, 4])
        assert vault.find_accounts(CLIENTS[1]) == []
        # an index beside no client_id is no client's account
        sql(db, "INSERT INTO credentials (account_id, client_secret, client_id_bidx) VALUES (5, NULL, %s)", (a_index,))
        assert vault.find_accounts(CLIENTS[0]) == _expected([1, 4])
        # a client_id copied from another account with its index does not decrypt there: an error, not dropped
        sql(db, "UPDATE credentials SET (client_id, client_id_bidx) = (SELECT client_id, client_id_bidx FROM "
                "credentials WHERE account_id = 1) WHERE account_id = 2")
        with pytest.raises(IntegrityError) as moved:
            vault.find_accounts(CLIENTS[0])
        assert moved.value.reason == "auth_failed" and "account 2" in str(moved.value)
        assert CLIENTS[0] not in str(moved.value)
        with pytest.raises(IntegrityError):  # get raises alike
            vault.get_credentials(2)
        # plaintext beside an index: refused as get refuses it
        sql(db, "UPDATE credentials SET client_id = %s WHERE account_id = 2", (CLIENTS[0],))
        with pytest.raises(NotEncrypted) as plain:
            vault.find_accounts(CLIENTS[0])
        assert plain.value.reason == "plaintext" and CLIENTS[0] not in str(plain.value)


def test_find_refuses_a_match_under_a_retired_kid(cli, db):
    old, new = cli.keygen(), cli.keygen()
    with _open(db, Keyring(old)) as vault:
        vault.put_credentials(1, client_id=CLIENTS[0], client_secret="s")
    backup = sql(db, "SELECT client_id, client_id_bidx FROM credentials WHERE account_id = 1")[0]
    cli.run("rotate", db=db, key=new, fallbacks=[old])
    with _open(db, Keyring(new)) as vault:
        vault.put_credentials(1, client_id=CLIENTS[0])  # the index under the new key (whatever rotate wrote)
    cli.run("keys", "retire", Keyring(old).primary_kid, "--yes", db=db, key=new)
    with _open(db, Keyring(new, [old])) as vault:
        assert vault.find_accounts(CLIENTS[0]) == _expected([1])
        sql(db, "UPDATE credentials SET client_id = %s, client_id_bidx = %s WHERE account_id = 1", backup)  # restored
        with pytest.raises(RetiredKid) as e:
            vault.find_accounts(CLIENTS[0])
        assert e.value.kid == Keyring(old).primary_kid


def test_async_vault_put_and_find(cli, db):
    key, old = cli.keygen(), cli.keygen()
    layout = _layout()
    ring = Keyring(key, [old])

    async def check(vault: AsyncVault) -> None:
        for client, accounts in layout.items():
            assert await vault.find_accounts(client) == _expected(accounts)
        assert await vault.find_accounts("amzn1.application-oa2-client.unknown") == []

    async def main() -> None:
        async with await AsyncVault.open(f"dbname={db}", Keyring(old), migrations_dir=MIGRATIONS) as under_old:
            await asyncio.gather(*(under_old.put_credentials(a, client_id=c)
                                   for c, accounts in layout.items() for a in accounts[1::2]))
        pool = await asyncpg.create_pool(database=db, min_size=1, max_size=4, statement_cache_size=0)
        vault = await AsyncVault.open(pool, ring, migrations_dir=MIGRATIONS)
        await asyncio.gather(*(vault.put_credentials(a, client_id=c, client_secret=f"s{a}")
                               for c, accounts in layout.items() for a in accounts[::2]))
        await check(vault)
        sql(db, "UPDATE credentials SET client_id_bidx = NULL WHERE account_id = 1")
        with pytest.raises(Unindexed):
            await vault.find_accounts(CLIENTS[0])
        await vault.put_credentials(1, client_id=CLIENTS[0])
        await check(vault)
        await pool.close()
        engine = create_async_engine(f"postgresql+asyncpg:///{db}")
        await check(await AsyncVault.open(engine, ring, migrations_dir=MIGRATIONS))
        await engine.dispose()
        async with await AsyncVault.open(f"dbname={db}", ring, migrations_dir=MIGRATIONS) as owned:
            assert owned.statement_cache  # prepared statements: the array parameter typed by the server
            await check(owned)
            await check(owned)
        async with await AsyncVault.open(f"dbname={db}", ring, migrations_dir=MIGRATIONS, pooler=True) as unnamed:
            await check(unnamed)

    asyncio.run(main())
    assert _index_of(db, 1) == ring.primary_client_id_index(CLIENTS[0])
    assert _index_of(db, 5) == Keyring(old).primary_client_id_index(CLIENTS[1])  # written by under_old
    assert cli.run("verify", db=db, key=key, fallbacks=[old]).returncode == 0


def test_development_schema_before_the_index(cli, empty_db):
    """A development database behind the migrations (no client_id_bidx yet): put writes no index, find
    refuses (the data step of 20261207_0006 indexes the rows)."""
    key = cli.keygen()
    cli.run("migrate", "-q", "--to", "20260215_0003", db=empty_db, key=key)
    sql(empty_db, "INSERT INTO accounts (amazon_account_id) VALUES ('A1')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vault = _open(empty_db, Keyring(key), environment="development")
    with vault:
        vault.put_credentials(1, client_id=CLIENTS[0], client_secret="s")
        assert vault.get_credentials(1).client_id.reveal() == CLIENTS[0]
        with pytest.raises(Unindexed) as e:
            vault.find_accounts(CLIENTS[0])
        assert "credvault migrate" in str(e.value)


def test_cli_put_python_finds(cli, db):
    key = cli.keygen()
    for account, client in ((3, CLIENTS[0]), (1, CLIENTS[0]), (2, CLIENTS[1])):
        cli.run("put", "--account", str(account), db=db, key=key, stdin=json.dumps({"client_id": client}))
    with _open(db, Keyring(key)) as vault:
        assert vault.find_accounts(CLIENTS[0]) == _expected([1, 3])
        assert vault.find_accounts(CLIENTS[1]) == _expected([2])
    assert _index_of(db, 1) == Keyring(key).primary_client_id_index(CLIENTS[0])


MappedBase = declarative_base()
UnmappedBase = declarative_base()


class IndexMapped(MappedBase):
    """An application's model that maps the index column: written in the flush's own statements."""
    __tablename__ = "credentials"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, nullable=False, unique=True)
    client_id = Column(String(512))
    client_secret = Column(String(512))
    refresh_token = Column(String(512))
    client_id_bidx = Column(String(64))


class IndexUnmapped(UnmappedBase):
    """A model written before the index existed: the events index its rows after the flush."""
    __tablename__ = "credentials"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, nullable=False, unique=True)
    client_id = Column(String(512))
    client_secret = Column(String(512))
    refresh_token = Column(String(512))


@pytest.mark.parametrize("model", [IndexMapped, IndexUnmapped], ids=["mapped", "unmapped"])
def test_orm_events_write_the_index(cli, db, model):
    key, old = cli.keygen(), cli.keygen()
    ring = Keyring(key, [old])
    encrypt_columns(model, ring)
    with _open(db, Keyring(old)) as vault:
        vault.put_credentials(3, client_id=CLIENTS[1])      # an index under the old key, to be replaced
    engine = create_engine(f"postgresql+psycopg2:///{db}")
    try:
        with Session(engine) as session:
            session.add_all([model(account_id=1, client_id=CLIENTS[0], client_secret="s1"),
                             model(account_id=2, client_secret="s2")])
            session.commit()
            three = session.execute(select(model).where(model.account_id == 3)).scalar_one()
            three.client_id = CLIENTS[0]
            session.commit()
            assert _index_of(db, 1) == _index_of(db, 3) == ring.primary_client_id_index(CLIENTS[0])
            assert _index_of(db, 2) is None
            one = session.execute(select(model).where(model.account_id == 1)).scalar_one()
            one.refresh_token = "Atzr|1"                        # client_id untouched: index untouched
            session.commit()
            assert _index_of(db, 1) == ring.primary_client_id_index(CLIENTS[0])
            with _open(db, ring) as vault:
                assert vault.find_accounts(CLIENTS[0]) == _expected([1, 3])
                assert vault.find_accounts(CLIENTS[1]) == []
            three.client_id = None                              # cleared: so is its index
            session.commit()
            assert _index_of(db, 3) is None
            with Session(engine) as failing:                    # a failed flush writes no index either
                failing.add(model(account_id=99999, client_id=CLIENTS[2]))
                with pytest.raises(Exception):
                    failing.commit()
        with _open(db, ring) as vault:
            assert vault.find_accounts(CLIENTS[0]) == _expected([1])
            assert vault.find_accounts(CLIENTS[2]) == []
    finally:
        engine.dispose()
    assert cli.run("verify", db=db, key=key, fallbacks=[old]).returncode == 0


def test_python_put_cli_finds(cli, db):
    """The C++ lookup computes the index Python wrote: `credvault find` answers as find_accounts does."""
    key = cli.keygen()
    layout = _layout()
    with _open(db, Keyring(key)) as vault:
        for client, accounts in layout.items():
            for account in accounts:
                vault.put_credentials(account, client_id=client)
    for client, accounts in layout.items():
        out = cli.run("find", "--client-id", "-", "--json", db=db, key=key, stdin=client + "\n").stdout
        assert json.loads(out) == [{"account_id": a, "amazon_account_id": f"A{a}"} for a in accounts]
    missing = cli.run("find", "--client-id", "-", db=db, key=key, stdin="amzn1.application-oa2-client.none\n",
                      check=False)
    assert missing.returncode == 3


def test_cli_row_jobs_keep_the_index_python_finds_by(cli, db):
    """encrypt indexes plaintext rows, rotate moves the index to the new key with the value (a ring of the new
    key alone finds every row), decrypt clears it (find then refuses: unindexed)."""
    old, new = cli.keygen(), cli.keygen()
    layout = _layout()
    sql(db, "INSERT INTO credentials (account_id, client_id) VALUES " + ", ".join(
        f"({a}, '{c}')" for c, accounts in layout.items() for a in accounts))
    cli.run("encrypt", db=db, key=old)
    with _open(db, Keyring(old)) as vault:
        for client, accounts in layout.items():
            assert vault.find_accounts(client) == _expected(accounts)
    cli.run("rotate", db=db, key=new, fallbacks=[old])
    with _open(db, Keyring(new)) as vault:
        for client, accounts in layout.items():
            assert vault.find_accounts(client) == _expected(accounts)
    assert cli.run("verify", db=db, key=new).returncode == 0
    cli.run("decrypt", "--yes", db=db, key=new)
    assert sql(db, "SELECT count(*) FILTER (WHERE left(client_id, 4) = 'cv1:'), count(client_id_bidx) FROM credentials")[0] \
        == (0, 0)
    with _open(db, Keyring(new)) as vault, pytest.raises(Unindexed):
        vault.find_accounts(CLIENTS[0])

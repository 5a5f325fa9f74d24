"""The SQLAlchemy ORM integration, and no secret in any log line or exception."""
from __future__ import annotations

import asyncio
import base64
import io
import logging
import traceback

import pytest
from sqlalchemy import Column, DateTime, Integer, String, create_engine, func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from conftest import MIGRATIONS, sql
import credvault
from credvault import AsyncVault, Keyring, Secret, Vault
from credvault.sqlalchemy import encrypt_columns

Base = declarative_base()


class Credential(Base):
    __tablename__ = "credentials"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, nullable=False, unique=True)
    client_id = Column(String(512))
    client_secret = Column(String(512))
    refresh_token = Column(String(512))
    updated_at = Column(DateTime, nullable=False, server_default=func.now())


def test_orm_sync_and_async(cli, db):
    key = cli.keygen()
    ring = Keyring(key)
    encrypt_columns(Credential, ring)
    with pytest.raises(credvault.UsageError):
        encrypt_columns(Credential, ring)  # twice would encrypt twice
    engine = create_engine(f"postgresql+psycopg2:///{db}")
    with Session(engine) as session:
        session.add(Credential(account_id=21, client_id="orm-id-21", client_secret=Secret("orm-secret-21")))
        session.commit()
        row = session.execute(select(Credential).where(Credential.account_id == 21)).scalar_one()
        assert isinstance(row.client_secret, Secret) and row.client_secret.reveal() == "orm-secret-21"
        row.refresh_token = "orm-token-21"
        session.commit()
        assert row.refresh_token.reveal() == "orm-token-21"  # expired, reloaded and decrypted
    stored = sql(db, "SELECT client_id, client_secret, refresh_token FROM credentials WHERE account_id = 21")[0]
    assert all(v.startswith("cv1:x:") for v in stored)
    assert cli.get(db, key, 21) == {"account_id": 21, "client_id": "orm-id-21", "client_secret": "orm-secret-21",
                                    "refresh_token": "orm-token-21"}
    with Session(engine) as session:  # a failed flush (no account 99999) leaves the plaintext, not ciphertext
        orphan = Credential(account_id=99999, client_id="orphan-id")
        session.add(orphan)
        with pytest.raises(Exception):
            session.commit()
        session.rollback()
        assert isinstance(orphan.client_id, Secret) and orphan.client_id.reveal() == "orphan-id"
        orphan.account_id = 23
        session.add(orphan)
        session.commit()
    assert cli.get(db, key, 23)["client_id"] == "orphan-id"
    engine.dispose()

    async def main() -> None:
        aengine = create_async_engine(f"postgresql+asyncpg:///{db}")
        make_session = sessionmaker(aengine, class_=AsyncSession, expire_on_commit=False)
        async with make_session() as session:
            cred = (await session.execute(select(Credential).where(Credential.account_id == 21))).scalar_one()
            assert cred.client_id.reveal() == "orm-id-21"
            cred.client_id = "orm-id-21-b"
            session.add(Credential(account_id=22, refresh_token="orm-token-22"))
            await session.commit()
            assert cred.client_id.reveal() == "orm-id-21-b"
        await aengine.dispose()

    asyncio.run(main())
    assert cli.get(db, key, 21)["client_id"] == "orm-id-21-b"
    assert cli.get(db, key, 22)["refresh_token"] == "orm-token-22"
    assert cli.run("verify", db=db, key=key).returncode == 0


def test_no_secret_in_logs_or_exceptions(cli, db, tmp_path):
    key, other = cli.keygen(), "a-passphrase-key-" * 3
    plaintexts = ["hyg-client-id-7f3a", "hyg-secret-9c1e", "Atzr|hyg-token-44d2"]
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    texts = []
    try:
        ring = Keyring(key, [other])
        logging.debug("keyring %r %s", ring, ring)
        with Vault.open(f"dbname={db}", ring, migrations_dir=MIGRATIONS) as vault:
            vault.put_credentials(31, client_id=plaintexts[0], client_secret=plaintexts[1],
                                  refresh_token=plaintexts[2])
            got = vault.get_credentials(31)
            logging.debug("got %r %s %s", got, got.client_secret, got)
            sql(db, "UPDATE credentials SET client_id = client_secret WHERE account_id = 31")
            failures = []
            for action in (lambda: vault.get_credentials(31),
                           lambda: vault.put_credentials(31, refresh_token=plaintexts[2] * 20),
                           lambda: Keyring(key[:20]), lambda: Keyring(plaintexts[1]),
                           lambda: Keyring(key, [key]),
                           lambda: ring.decrypt(plaintexts[0], column="client_id", account_id=1)):
                try:
                    action()
                except credvault.Error as e:
                    failures.append(e)
                    logging.exception("expected failure")
                    texts.append(repr(e) + str(e) + "".join(traceback.format_exception(type(e), e, e.__traceback__)))
            assert len(failures) == 6

        async def run_async() -> None:
            async with await AsyncVault.open(f"dbname={db}", ring, migrations_dir=MIGRATIONS) as av:
                await av.put_credentials(32, client_secret=plaintexts[1])
                logging.debug("async %r", await av.get_credentials(32))

        asyncio.run(run_async())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    output = buffer.getvalue() + "".join(texts)
    assert "expected failure" in output and "Secret(" in output
    raw_key = base64.b64decode(key[len("base64:"):])
    forbidden = plaintexts + [key, key[len("base64:"):][:12], other, other[:16], raw_key.hex()[:16],
                              base64.urlsafe_b64encode(raw_key).decode()[:12]]
    for needle in forbidden:
        assert needle not in output, "a secret reached a log line or an exception"


RetiredBase = declarative_base()


class RetiredCredential(RetiredBase):
    __tablename__ = "credentials"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, nullable=False, unique=True)
    client_id = Column(String(512))
    client_secret = Column(String(512))
    refresh_token = Column(String(512))
    updated_at = Column(DateTime, nullable=False, server_default=func.now())


def test_orm_refuses_a_retired_kid_and_a_retired_primary(cli, db):
    """Security review 2026-12, item 5: `keys retire` holds for models too, like Vault."""
    from credvault import RetiredKid

    a, b = cli.keygen(), cli.keygen()
    ring_a, ring_b = Keyring(a), Keyring(b, [a])
    with Vault.open(f"dbname={db}", ring_a, migrations_dir=MIGRATIONS) as vault:
        vault.put_credentials(41, client_secret="old-under-a")
    old = sql(db, "SELECT client_secret FROM credentials WHERE account_id = 41")[0][0]
    cli.run("rotate", db=db, key=b, fallbacks=[a])
    cli.run("keys", "retire", ring_a.primary_kid, "--yes", db=db, key=b)
    sql(db, "UPDATE credentials SET client_secret = %s WHERE account_id = 41", (old,))  # an old backup restored
    # One keyring object per model registration: the model decrypts with a ring that still holds key a.
    holder = {"ring": ring_b}

    class SwitchingRing:
        def __getattr__(self, name: str):
            return getattr(holder["ring"], name)

    encrypt_columns(RetiredCredential, SwitchingRing())  # type: ignore[arg-type]
    engine = create_engine(f"postgresql+psycopg2:///{db}")
    try:
        with Session(engine) as session:
            with pytest.raises(RetiredKid) as e:
                session.execute(select(RetiredCredential).where(RetiredCredential.account_id == 41)).scalar_one()
            assert e.value.kid == ring_a.primary_kid and e.value.reason == "retired_kid"
            assert "old-under-a" not in str(e.value)
        holder["ring"] = ring_a  # a process still configured with the retired key as primary
        with Session(engine) as session:
            session.add(RetiredCredential(account_id=42, client_secret="never-under-a"))
            with pytest.raises(RetiredKid):
                session.commit()
        assert sql(db, "SELECT count(*) FROM credentials WHERE account_id = 42")[0][0] == 0
    finally:
        engine.dispose()

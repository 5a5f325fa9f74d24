"""Vault: credentials over psycopg2."""
from __future__ import annotations

import logging
from typing import ContextManager, List, Optional, Protocol, Sequence, Union

from ._core import (ClientAccount, Core, Credentials, Params, check_max_connections, drive, find_steps, get_steps,
                    open_steps, prepare_open, put_steps)
from ._dsn import normalize_dsn
from ._sql import Row, to_pyformat
from .keyring import Keyring, PlaintextLike

__all__ = ["Vault"]

log = logging.getLogger("credvault")


class Psycopg2Cursor(Protocol):
    description: Optional[Sequence[object]]

    def execute(self, query: str, vars: Params) -> None: ...

    def fetchall(self) -> List[Row]: ...


class Psycopg2Connection(Protocol):
    """What the vault uses of a psycopg2 connection (psycopg2 has no type information)."""

    closed: int

    def __enter__(self) -> "Psycopg2Connection": ...

    def __exit__(self, *exc: object) -> None: ...

    def cursor(self) -> ContextManager[Psycopg2Cursor]: ...


class Psycopg2Pool(Protocol):
    """A psycopg2 pool (``psycopg2.pool.ThreadedConnectionPool``, or anything with getconn/putconn)."""

    def getconn(self) -> Psycopg2Connection: ...

    def putconn(self, conn: Psycopg2Connection, key: Optional[str] = None, close: bool = False) -> None: ...


class OwnedPool(Psycopg2Pool, Protocol):
    """The ThreadedConnectionPool open creates from a DSN, closed by :meth:`Vault.close`."""

    def closeall(self) -> None: ...


def _query(pool: Psycopg2Pool, sql: str, params: Params) -> List[Row]:
    """One statement in its own transaction; once more on a new connection when the pooled one was
    broken (server restarted, backend terminated), as the C++ Vault does."""
    import psycopg2

    for attempt in (0, 1):
        conn = pool.getconn()
        broken = False
        try:
            with conn:  # one transaction: commit, or rollback on error
                with conn.cursor() as cur:
                    cur.execute(to_pyformat(sql), params)
                    rows: List[Row] = cur.fetchall() if cur.description is not None else []
                    return rows
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = bool(conn.closed)
            if not broken or attempt == 1:
                raise
            log.warning("database connection lost; retrying once on a new connection")
        finally:
            pool.putconn(conn, close=broken or bool(conn.closed))
    raise AssertionError("unreachable")


class Vault:
    """Credentials over psycopg2 (thread-safe with the default ThreadedConnectionPool).

    Open with :meth:`open`; close with :meth:`close` (only closes a pool it created)."""

    def __init__(self, pool: Psycopg2Pool, owned: Optional[OwnedPool], core: Core) -> None:
        self._pool: Optional[Psycopg2Pool] = pool
        self._owned = owned  # pool, when open created it
        self._core = core

    @classmethod
    def open(cls, dsn_or_pool: Union[str, Psycopg2Pool], keyring: Keyring, *, environment: str = "production",
             migrations_dir: Optional[str] = None, max_connections: Optional[int] = None) -> "Vault":
        """``dsn_or_pool``: libpq conninfo / URL (SQLAlchemy form accepted), then the vault creates a
        ThreadedConnectionPool of at most ``max_connections`` (default 10); or a psycopg2 pool of yours
        (anything with getconn/putconn). Raises SchemaBehind when the schema is behind (staging,
        production; development only warns)."""
        import psycopg2.pool

        migrations = prepare_open(environment, migrations_dir)
        size = check_max_connections(max_connections, own_pool=isinstance(dsn_or_pool, str))
        pool: Psycopg2Pool
        owned: Optional[OwnedPool] = None
        if isinstance(dsn_or_pool, str):
            pool = owned = psycopg2.pool.ThreadedConnectionPool(1, size, normalize_dsn(dsn_or_pool))
        else:
            pool = dsn_or_pool
        try:
            core = drive(open_steps(keyring, migrations, environment, migrations_dir),
                         lambda sql, params: _query(pool, sql, params))
        except BaseException:
            if owned is not None:
                owned.closeall()
            raise
        return cls(pool, owned, core)

    def close(self) -> None:
        """Closes the pool open created; a pool of yours stays open. The vault cannot be used after."""
        if self._owned is not None:
            self._owned.closeall()
        self._pool = self._owned = None

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: Params) -> List[Row]:
        if self._pool is None:
            import psycopg2

            raise psycopg2.InterfaceError("the Vault is closed")
        return _query(self._pool, sql, params)

    def get_credentials(self, account_id: int) -> Credentials:
        return drive(get_steps(self._core, account_id), self._query)

    def put_credentials(self, account_id: int, *, client_id: Optional[PlaintextLike] = None,
                        client_secret: Optional[PlaintextLike] = None,
                        refresh_token: Optional[PlaintextLike] = None) -> None:
        """Store any subset (None = keep the stored value), encrypted under the primary key; a client_id
        with its blind index (client_id_bidx) under the same key, in the same statement."""
        drive(put_steps(self._core, account_id, (client_id, client_secret, refresh_token)), self._query)

    def find_accounts(self, client_id: PlaintextLike) -> List[ClientAccount]:
        """The accounts whose client_id is exactly ``client_id`` (bytes, no normalization), ordered by
        account id; [] when none. Found by the blind index (``client_id_bidx``) under every key of the
        ring, each match's client_id decrypted and compared. Raises Unindexed while some row has a
        client_id but no index (run ``credvault encrypt``), and what get_credentials would raise for a
        match whose client_id does not decrypt."""
        return drive(find_steps(self._core, client_id), self._query)

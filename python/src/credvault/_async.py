"""AsyncVault: credentials over asyncpg (a pool of the vault's own or of the caller's) or a SQLAlchemy
AsyncEngine, one backend class each."""
from __future__ import annotations

import abc
import functools
import logging
from typing import TYPE_CHECKING, Awaitable, Callable, Dict, List, Optional, Tuple, Type, Union

from ._core import (ClientAccount, Core, Credentials, Params, check_max_connections, drive_async, find_steps,
                    get_steps, open_steps, prepare_open, put_steps)
from ._dsn import asyncpg_connect_args
from ._pool import Acquiring, Connection, OwnPool, Queryable
from ._sql import Row, to_numeric
from .errors import UsageError
from .keyring import Keyring, PlaintextLike

__all__ = ["AsyncVault"]

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("credvault")

_STATEMENT_CACHE_SIZE = 100  # asyncpg's default


class _Backend(abc.ABC):
    """Runs one statement in its own transaction; returns its rows ([] for one that returns none)."""

    statement_cache: Optional[bool] = None  # see AsyncVault.statement_cache

    @abc.abstractmethod
    async def query(self, sql: str, params: Params) -> List[Row]: ...

    async def close(self) -> None:
        """Closes what the vault created; a pool or engine of the caller's stays open."""


@functools.lru_cache(maxsize=None)
def _lost_connection_errors() -> Tuple[Type[BaseException], ...]:
    import asyncpg

    return (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.AdminShutdownError,
            asyncpg.exceptions.PostgresConnectionError, ConnectionError)


class _AsyncpgBackend(_Backend):
    """asyncpg: ``$n`` parameters; a statement whose connection was lost (server restarted, backend
    terminated) runs once more on another connection, as the C++ Vault does."""

    def __init__(self) -> None:
        self._numeric: Dict[str, Tuple[str, List[str]]] = {}

    @abc.abstractmethod
    async def _on_connection(self, call: Callable[[Queryable], Awaitable[List[Row]]]) -> List[Row]: ...

    def _connection_lost(self) -> None:
        """Called before the retry."""

    async def query(self, sql: str, params: Params) -> List[Row]:
        converted = self._numeric.get(sql)
        if converted is None:
            converted = self._numeric[sql] = to_numeric(sql)
        text, names = converted
        args = [params[n] for n in names]
        for attempt in (0, 1):
            try:
                return await self._on_connection(lambda conn: conn.fetch(text, *args))
            except _lost_connection_errors():
                if attempt == 1:
                    raise
                log.warning("database connection lost; retrying once on a new connection")
                self._connection_lost()
        raise AssertionError("unreachable")


class _OwnPoolBackend(_AsyncpgBackend):
    """The connections of a vault opened on a DSN."""

    def __init__(self, pool: OwnPool, statement_cache: bool) -> None:
        super().__init__()
        self._pool = pool
        self.statement_cache = statement_cache

    async def _on_connection(self, call: Callable[[Queryable], Awaitable[List[Row]]]) -> List[Row]:
        return await self._pool.run(call)

    def _connection_lost(self) -> None:
        self._pool.drop_idle()

    async def close(self) -> None:
        await self._pool.close()


class _CallerPoolBackend(_AsyncpgBackend):
    """An asyncpg Pool of the caller's (or anything with acquire/release)."""

    def __init__(self, pool: Union[Queryable, Acquiring]) -> None:
        super().__init__()
        self._pool = pool

    async def _on_connection(self, call: Callable[[Queryable], Awaitable[List[Row]]]) -> List[Row]:
        if isinstance(self._pool, Queryable):  # asyncpg's Pool.fetch acquires, runs and releases in one call
            return await call(self._pool)
        async with self._pool.acquire() as conn:
            return await call(conn)


class _SqlAlchemyBackend(_Backend):
    """A SQLAlchemy AsyncEngine: ``text()`` takes the ``:name`` parameters as they are."""

    def __init__(self, engine: "AsyncEngine") -> None:
        self._engine = engine

    async def query(self, sql: str, params: Params) -> List[Row]:
        from sqlalchemy import text

        async with self._engine.begin() as conn:  # commits when the block ends
            result = await conn.execute(text(sql), params)
            return list(result.fetchall()) if result.returns_rows else []


def _detect_pooler(server_pid: int, backend_pid: int) -> bool:
    """A connection pooler hands its clients a made-up backend pid (BackendKeyData): the pid the
    connection was given is not that of the server process running its queries."""
    return server_pid != backend_pid


async def _own_pool(dsn_text: str, pooler: Optional[bool], max_connections: int) -> _OwnPoolBackend:
    import asyncpg

    dsn, kwargs = asyncpg_connect_args(dsn_text)
    if pooler is None:
        probe = await asyncpg.connect(dsn, statement_cache_size=0, **kwargs)
        try:
            pooler = _detect_pooler(probe.get_server_pid(), await probe.fetchval("SELECT pg_backend_pid()"))
        finally:
            await probe.close()
    # Behind a transaction pooler each transaction may run on another server connection, where a named
    # prepared statement does not exist (or another client's does): unnamed ones only.
    cache = not pooler

    async def connect() -> Connection:
        conn: Connection = await asyncpg.connect(dsn, statement_cache_size=_STATEMENT_CACHE_SIZE if cache else 0,
                                                 **kwargs)
        return conn

    return _OwnPoolBackend(OwnPool(connect, max_connections), cache)


async def _backend(target: object, pooler: Optional[bool], max_connections: Optional[int]) -> _Backend:
    if isinstance(target, str):
        return await _own_pool(target, pooler, check_max_connections(max_connections, own_pool=True))
    if pooler is not None:
        raise UsageError("pooler= applies only when AsyncVault.open is given a DSN (it then creates the pool); "
                         "configure a pool of your own yourself")
    check_max_connections(max_connections, own_pool=False)
    try:
        from sqlalchemy.ext.asyncio import AsyncEngine
    except ImportError:  # SQLAlchemy is optional
        pass
    else:
        if isinstance(target, AsyncEngine):
            return _SqlAlchemyBackend(target)
    if isinstance(target, Acquiring):
        return _CallerPoolBackend(target)
    raise UsageError("AsyncVault.open needs an asyncpg Pool, a SQLAlchemy AsyncEngine or a DSN")


class AsyncVault:
    """Credentials over asyncpg (a Pool) or a SQLAlchemy AsyncEngine; methods are coroutines."""

    def __init__(self, backend: _Backend, core: Core) -> None:
        self._backend = backend
        self._core = core

    @classmethod
    async def open(cls, pool_or_engine: object, keyring: Keyring, *, environment: str = "production",
                   migrations_dir: Optional[str] = None, pooler: Optional[bool] = None,
                   max_connections: Optional[int] = None) -> "AsyncVault":
        """``pool_or_engine``: an asyncpg Pool, a SQLAlchemy AsyncEngine, or a DSN. With a DSN the vault
        keeps asyncpg connections of its own, at most ``max_connections`` (default 10; closed by
        :meth:`close`): with asyncpg's statement cache (named prepared statements, one round trip a
        call) when the DSN reaches PostgreSQL directly, without it (``statement_cache_size=0``) when it
        goes through a pooler. ``pooler=None`` detects which, as the C++ tool does (the backend pid the
        connection was given differs from ``pg_backend_pid()`` behind a pooler); True or False says so
        instead."""
        migrations = prepare_open(environment, migrations_dir)
        if pooler is not None and not isinstance(pooler, bool):
            raise UsageError("pooler must be None (detect), True or False")
        backend = await _backend(pool_or_engine, pooler, max_connections)
        try:
            core = await drive_async(open_steps(keyring, migrations, environment, migrations_dir), backend.query)
        except BaseException:
            await backend.close()
            raise
        return cls(backend, core)

    @property
    def statement_cache(self) -> Optional[bool]:
        """Whether the pool AsyncVault.open created from a DSN uses asyncpg's statement cache (named
        prepared statements): True on a direct connection, False through a pooler; None for a pool
        or engine given to open (its own settings apply)."""
        return self._backend.statement_cache

    async def close(self) -> None:
        await self._backend.close()

    async def __aenter__(self) -> "AsyncVault":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def get_credentials(self, account_id: int) -> Credentials:
        return await drive_async(get_steps(self._core, account_id), self._backend.query)

    async def put_credentials(self, account_id: int, *, client_id: Optional[PlaintextLike] = None,
                              client_secret: Optional[PlaintextLike] = None,
                              refresh_token: Optional[PlaintextLike] = None) -> None:
        """Store any subset (None = keep the stored value), encrypted under the primary key; a client_id
        with its blind index (client_id_bidx) under the same key, in the same statement."""
        await drive_async(put_steps(self._core, account_id, (client_id, client_secret, refresh_token)),
                          self._backend.query)

    async def find_accounts(self, client_id: PlaintextLike) -> List[ClientAccount]:
        """The accounts whose client_id is exactly ``client_id``, ordered by account id; [] when none
        (as :meth:`Vault.find_accounts`: Unindexed while some row has a client_id but no index)."""
        return await drive_async(find_steps(self._core, client_id), self._backend.query)

"""Vault (psycopg2, threads) and AsyncVault (asyncpg or a SQLAlchemy AsyncEngine).

Both read and write the ``credentials`` table as the C++ ``credvault::Vault`` does: the same SQL
(parameters only), the same upsert, the same capacity check before writing, the same errors.
Every call is one statement in its own transaction, with no session state, so both work through
PgBouncer in transaction mode. asyncpg: ``AsyncVault.open(dsn)`` uses asyncpg's statement cache on
a direct connection and none through a pooler (detected, or ``pooler=``); a pool of your own behind
PgBouncer needs ``statement_cache_size=0``.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .errors import CapacityError, NoCredentials, NoSuchAccount, NotEncrypted, RetiredKid, UsageError
from .keyring import (Keyring, PlaintextLike, Secret, _unsupported_version, ciphertext_length,
                      max_plaintext_length)
from .schema import (HISTORY_EXISTS_SQL, HISTORY_SQL, check_at_head, check_environment, load_migrations,
                     resolve_migrations_dir)

__all__ = ["Credentials", "Vault", "AsyncVault", "normalize_dsn"]

log = logging.getLogger("credvault")

TABLE = "credentials"
COLUMNS = ("client_id", "client_secret", "refresh_token")

# Named parameters (:name), converted for each driver; no '::' casts so the conversion is trivial.
SELECT_SQL = "SELECT client_id, client_secret, refresh_token FROM credentials WHERE account_id = :account_id"
# With the kids retired in credvault_keys (comma-separated or NULL), in the same round trip.
SELECT_WITH_RETIRED_SQL = ("SELECT client_id, client_secret, refresh_token, "
                           "(SELECT string_agg(kid, ',') FROM credvault_keys WHERE state = 'retired') "
                           "FROM credentials WHERE account_id = :account_id")
LIFECYCLE_EXISTS_SQL = "SELECT to_regclass('credvault_keys') IS NOT NULL"
KID_RETIRED_SQL = "SELECT 1 FROM credvault_keys WHERE kid = :kid AND state = 'retired'"
ACCOUNT_EXISTS_SQL = "SELECT 1 FROM accounts WHERE id = :account_id"
CAPACITY_SQL = ("SELECT column_name, character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'credentials' "
                "AND column_name IN ('client_id', 'client_secret', 'refresh_token')")
UPSERT_SQL = (
    "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token) "
    "VALUES (:account_id, :client_id, :client_secret, :refresh_token) "
    "ON CONFLICT (account_id) DO UPDATE SET "
    "client_id = CASE WHEN CAST(:set_client_id AS boolean) THEN EXCLUDED.client_id ELSE credentials.client_id END, "
    "client_secret = CASE WHEN CAST(:set_client_secret AS boolean) THEN EXCLUDED.client_secret "
    "ELSE credentials.client_secret END, "
    "refresh_token = CASE WHEN CAST(:set_refresh_token AS boolean) THEN EXCLUDED.refresh_token "
    "ELSE credentials.refresh_token END")
_PARAM_RE = re.compile(r":([a-z_]+)")


def _to_pyformat(sql: str) -> str:
    return _PARAM_RE.sub(r"%(\1)s", sql)


def _to_numeric(sql: str) -> Tuple[str, List[str]]:
    names: List[str] = []

    def number(m: "re.Match[str]") -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return _PARAM_RE.sub(number, sql), names


def normalize_dsn(dsn: str) -> str:
    """libpq conninfo or URL; a SQLAlchemy URL's driver part (``postgresql+asyncpg://``) is dropped."""
    m = re.match(r"^(postgresql|postgres)\+[A-Za-z0-9_]+://", dsn)
    if m:
        return "postgresql://" + dsn[m.end():]
    return dsn


_CONNINFO_RE = re.compile(r"\s*([A-Za-z_]+)\s*=\s*('((?:[^'\\]|\\.)*)'|(\S*))")


def parse_conninfo(conninfo: str) -> Dict[str, str]:
    """libpq ``key=value`` conninfo (values optionally single-quoted with backslash escapes) → dict."""
    out: Dict[str, str] = {}
    pos = 0
    while conninfo[pos:].strip():
        m = _CONNINFO_RE.match(conninfo, pos)
        if not m:
            raise UsageError("the DSN is neither a URL nor libpq key=value conninfo")
        value = re.sub(r"\\(.)", r"\1", m.group(3)) if m.group(3) is not None else m.group(4)
        out[m.group(1)] = value
        pos = m.end()
    return out


def _asyncpg_connect_args(dsn: str) -> Tuple[Optional[str], Dict[str, Any]]:
    """asyncpg takes URLs only: a libpq conninfo becomes keyword arguments (PG* variables fill the rest)."""
    dsn = normalize_dsn(dsn)
    if re.match(r"^postgres(ql)?://", dsn):
        return dsn, {}
    kwargs: Dict[str, Any] = {}
    settings: Dict[str, str] = {}
    for key, value in parse_conninfo(dsn).items():
        if key in ("host", "user", "password"):
            kwargs[key] = value
        elif key == "port":
            kwargs["port"] = int(value)
        elif key == "dbname":
            kwargs["database"] = value
        elif key == "sslmode":
            kwargs["ssl"] = value
        elif key == "connect_timeout":
            kwargs["timeout"] = float(value)
        elif key == "application_name":
            settings[key] = value
        else:
            raise UsageError(f"conninfo keyword {key!r} is not supported with asyncpg: give a postgresql:// URL")
    if settings:
        kwargs["server_settings"] = settings
    return None, kwargs


@dataclasses.dataclass(frozen=True)
class Credentials:
    """An account's credentials; each a :class:`Secret`, or None when the column is NULL."""

    client_id: Optional[Secret]
    client_secret: Optional[Secret]
    refresh_token: Optional[Secret]


def _no_such_account(account_id: int) -> NoSuchAccount:
    return NoSuchAccount(f"account {account_id} does not exist (no accounts row with id {account_id})")


def _no_credentials(account_id: int) -> NoCredentials:
    return NoCredentials(f"account {account_id} exists but has no credentials yet (no credentials row with "
                         f"account_id {account_id})")


def _check_account_id(account_id: int) -> int:
    if isinstance(account_id, bool) or not isinstance(account_id, int) or not 1 <= account_id <= 2**31 - 1:
        raise UsageError("account_id must be an int between 1 and 2147483647")
    return account_id


class _Core:
    """Driver-independent halves of get and put."""

    def __init__(self, keyring: Keyring, capacity: Dict[str, int]) -> None:
        self.keyring = keyring
        self.capacity = capacity
        self.lifecycle = False  # credvault_keys exists: values under retired kids are refused

    @property
    def select_sql(self) -> str:
        return SELECT_WITH_RETIRED_SQL if self.lifecycle else SELECT_SQL

    def decode(self, account_id: int, row: Sequence[Optional[str]]) -> Credentials:
        out: List[Optional[Secret]] = []
        retired = set((row[3] or "").split(",")) - {""} if len(row) > 3 else set()
        for column, stored in zip(COLUMNS, row):
            if stored is None:
                out.append(None)
                continue
            if not stored.startswith("cv1:") and not _unsupported_version(stored):
                raise NotEncrypted(f"credentials.{column} of account {account_id} is not encrypted yet: run "
                                   "`credvault encrypt`")
            kid = stored[6:14]
            if kid in retired and not _unsupported_version(stored):
                raise RetiredKid.of_value(f"credentials.{column} of account {account_id}", kid)
            out.append(self.keyring.decrypt(stored, column=column, account_id=account_id, table=TABLE))
        return Credentials(*out)

    def refuse_retired_primary(self, retired_rows: Sequence[Any]) -> None:
        if retired_rows:
            raise RetiredKid.of_primary(self.keyring.primary_kid)

    def encode(self, account_id: int, values: Dict[str, Optional[PlaintextLike]]) -> Dict[str, Any]:
        params: Dict[str, Any] = {"account_id": account_id}
        any_value = False
        alg = self.keyring.alg
        for column in COLUMNS:
            value = values[column]
            params[column] = None
            params["set_" + column] = False
            if value is None:
                continue
            any_value = True
            size = len(value) if isinstance(value, (Secret, bytes)) else len(str(value).encode("utf-8"))
            needed = ciphertext_length(size, alg)
            limit = self.capacity.get(column, 0)
            if limit and needed > limit:
                raise CapacityError(f"credentials.{column} holds {limit} characters; this value needs {needed} once "
                                    f"encrypted (at most {max_plaintext_length(limit, alg)} bytes of plaintext fit); "
                                    "widen the column with a migration")
        if not any_value:
            raise UsageError("nothing to store: give at least one of client_id, client_secret, refresh_token")
        for column in COLUMNS:
            value = values[column]
            if value is not None:
                params[column] = self.keyring.encrypt(value, column=column, account_id=account_id, table=TABLE)
                params["set_" + column] = True
        return params


def _capacity(rows: Sequence[Sequence[Any]]) -> Dict[str, int]:
    return {str(r[0]): int(r[1]) if r[1] is not None else 0 for r in rows}


class Vault:
    """Credentials over psycopg2 (thread-safe with the default ThreadedConnectionPool).

    Open with :meth:`open`; close with :meth:`close` (only closes a pool it created)."""

    def __init__(self, pool: Any, owns_pool: bool, core: _Core) -> None:
        self._pool = pool
        self._owns_pool = owns_pool
        self._core = core

    @classmethod
    def open(cls, dsn_or_pool: Any, keyring: Keyring, *, environment: str = "production",
             migrations_dir: Optional[str] = None, max_connections: int = 10) -> "Vault":
        """``dsn_or_pool``: libpq conninfo / URL (SQLAlchemy form accepted) or a psycopg2 pool
        (anything with getconn/putconn). Raises SchemaBehind when the schema is behind (staging,
        production; development only warns)."""
        import psycopg2.pool

        check_environment(environment)
        migrations = load_migrations(resolve_migrations_dir(migrations_dir))
        if isinstance(dsn_or_pool, str):
            pool = psycopg2.pool.ThreadedConnectionPool(1, max_connections, normalize_dsn(dsn_or_pool))
            owns = True
        else:
            pool, owns = dsn_or_pool, False
        vault = cls(pool, owns, _Core(keyring, {}))
        try:
            def schema(cur: Any) -> List[Any]:
                cur.execute(HISTORY_EXISTS_SQL)
                if not cur.fetchone()[0]:
                    return []
                cur.execute(HISTORY_SQL)
                return [tuple(r) for r in cur.fetchall()]

            history = vault._run(schema)
            check_at_head(history, migrations, environment, migrations_dir or "migrations")
            vault._core.capacity = _capacity(vault._run(lambda cur: (cur.execute(CAPACITY_SQL), cur.fetchall())[1]))
            vault._core.lifecycle = bool(vault._run(lambda cur: (cur.execute(LIFECYCLE_EXISTS_SQL), cur.fetchone())[1])[0])
        except BaseException:
            vault.close()
            raise
        return vault

    def close(self) -> None:
        if self._owns_pool and self._pool is not None:
            self._pool.closeall()
        self._pool = None

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        import psycopg2

        for attempt in (0, 1):
            conn = self._pool.getconn()
            broken = False
            try:
                with conn:  # one transaction: commit, or rollback on error
                    with conn.cursor() as cur:
                        return fn(cur)
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                broken = bool(conn.closed)
                if not broken or attempt == 1:
                    raise
                log.warning("database connection lost; retrying once on a new connection")
            finally:
                self._pool.putconn(conn, close=broken or bool(conn.closed))
        raise AssertionError("unreachable")

    def get_credentials(self, account_id: int) -> Credentials:
        _check_account_id(account_id)
        params = {"account_id": account_id}

        def fetch(cur: Any) -> Tuple[Optional[Tuple[Any, ...]], bool]:
            cur.execute(_to_pyformat(self._core.select_sql), params)
            row = cur.fetchone()
            if row is not None:
                return row, True
            cur.execute(_to_pyformat(ACCOUNT_EXISTS_SQL), params)
            return None, cur.fetchone() is not None

        row, exists = self._run(fetch)
        if row is None:
            raise _no_credentials(account_id) if exists else _no_such_account(account_id)
        return self._core.decode(account_id, row)

    def put_credentials(self, account_id: int, *, client_id: Optional[PlaintextLike] = None,
                        client_secret: Optional[PlaintextLike] = None,
                        refresh_token: Optional[PlaintextLike] = None) -> None:
        """Store any subset (None = keep the stored value), encrypted under the primary key."""
        import psycopg2.errors

        _check_account_id(account_id)
        params = self._core.encode(account_id, {"client_id": client_id, "client_secret": client_secret,
                                                "refresh_token": refresh_token})
        if self._core.lifecycle:
            kid = {"kid": self._core.keyring.primary_kid}
            self._core.refuse_retired_primary(
                self._run(lambda cur: (cur.execute(_to_pyformat(KID_RETIRED_SQL), kid), cur.fetchall())[1]))
        try:
            self._run(lambda cur: cur.execute(_to_pyformat(UPSERT_SQL), params))
        except psycopg2.errors.ForeignKeyViolation:
            raise _no_such_account(account_id) from None


class AsyncVault:
    """Credentials over asyncpg (a Pool) or a SQLAlchemy AsyncEngine; methods are coroutines."""

    def __init__(self, backend: "_AsyncBackend", core: _Core) -> None:
        self._backend = backend
        self._core = core

    @classmethod
    async def open(cls, pool_or_engine: Any, keyring: Keyring, *, environment: str = "production",
                   migrations_dir: Optional[str] = None, pooler: Optional[bool] = None,
                   max_connections: int = 10) -> "AsyncVault":
        """``pool_or_engine``: an asyncpg Pool, a SQLAlchemy AsyncEngine, or a DSN. With a DSN the vault
        keeps asyncpg connections of its own, at most ``max_connections`` (closed by :meth:`close`): with asyncpg's
        statement cache (named prepared statements, one round trip a call) when the DSN reaches
        PostgreSQL directly, without it (``statement_cache_size=0``) when it goes through a pooler.
        ``pooler=None`` detects which, as the C++ tool does (the backend pid the connection was given
        differs from ``pg_backend_pid()`` behind a pooler); True or False says so instead."""
        check_environment(environment)
        migrations = load_migrations(resolve_migrations_dir(migrations_dir))
        if not isinstance(pool_or_engine, str) and (pooler is not None or max_connections != 10):
            raise UsageError("pooler= and max_connections= apply only when AsyncVault.open is given a DSN "
                             "(it then creates the pool); configure a pool of your own yourself")
        if pooler is not None and not isinstance(pooler, bool):
            raise UsageError("pooler must be None (detect), True or False")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise UsageError("max_connections must be an int of at least 1")
        backend = await _AsyncBackend.make(pool_or_engine, pooler, max_connections)
        try:
            history: List[Any] = []
            if (await backend.fetch(HISTORY_EXISTS_SQL, {}))[0][0]:
                history = [tuple(r) for r in await backend.fetch(HISTORY_SQL, {})]
            check_at_head(history, migrations, environment, migrations_dir or "migrations")
            capacity = _capacity(await backend.fetch(CAPACITY_SQL, {}))
            lifecycle = bool((await backend.fetch(LIFECYCLE_EXISTS_SQL, {}))[0][0])
        except BaseException:
            await backend.close()
            raise
        core = _Core(keyring, capacity)
        core.lifecycle = lifecycle
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
        _check_account_id(account_id)
        params = {"account_id": account_id}
        row = await self._backend.fetchrow(self._core.select_sql, params)
        if row is None:
            exists = await self._backend.fetchrow(ACCOUNT_EXISTS_SQL, params)
            raise _no_credentials(account_id) if exists is not None else _no_such_account(account_id)
        return self._core.decode(account_id, row)

    async def put_credentials(self, account_id: int, *, client_id: Optional[PlaintextLike] = None,
                              client_secret: Optional[PlaintextLike] = None,
                              refresh_token: Optional[PlaintextLike] = None) -> None:
        _check_account_id(account_id)
        params = self._core.encode(account_id, {"client_id": client_id, "client_secret": client_secret,
                                                "refresh_token": refresh_token})
        if self._core.lifecycle:
            self._core.refuse_retired_primary(
                await self._backend.fetch(KID_RETIRED_SQL, {"kid": self._core.keyring.primary_kid}))
        try:
            await self._backend.execute(UPSERT_SQL, params)
        except Exception as e:  # the driver's foreign-key violation, whichever driver
            if _sqlstate(e) == "23503":
                raise _no_such_account(account_id) from None
            raise


def _sqlstate(e: BaseException) -> Optional[str]:
    for candidate in (e, getattr(e, "orig", None), getattr(getattr(e, "orig", None), "__cause__", None),
                      e.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def _detect_pooler(server_pid: int, backend_pid: int) -> bool:
    """A connection pooler hands its clients a made-up backend pid (BackendKeyData): the pid the
    connection was given is not that of the server process running its queries."""
    return server_pid != backend_pid


class _OwnPool:
    """The asyncpg connections of an AsyncVault opened on a DSN: at most ``max_size``, the most
    recently used first, handed straight to a waiting call when released.

    asyncpg's Pool costs about as much per call as the query itself: acquire and release each take
    event-loop turns (release runs in a task of its own, shielded), and release resets the
    connection (``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``: a round trip).
    The vault runs one statement per call in its own transaction and leaves no session state (no
    SET, LISTEN, advisory lock or cursor), so a connection goes back as it is, with nothing to await.
    A connection that is closed, inside a transaction, or was interrupted (a cancelled call, any
    error but the server's answer to the statement) is closed instead of going back."""

    def __init__(self, connect: Callable[[], Any], max_size: int) -> None:
        import collections

        self._connect = connect
        self._max = max_size
        self._idle: List[Any] = []
        self._open = 0  # connections open or being opened
        self._waiters: Any = collections.deque()  # futures: a connection, or None (room to open one)
        self._closed = False

    def _closed_error(self) -> Exception:
        import asyncpg

        return asyncpg.InterfaceError("the AsyncVault is closed")

    async def _acquire(self) -> Any:
        import asyncio

        while True:
            if self._closed:
                raise self._closed_error()
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._open -= 1  # the server ended it while idle (restart, pg_terminate_backend)
            if self._open < self._max:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._hand_on(None)
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except BaseException:  # cancelled while waiting, or woken and cancelled before running
                if not waiter.done():
                    self._waiters.remove(waiter)
                elif not waiter.cancelled():
                    handed = waiter.result()
                    if handed is not None:
                        self._release(handed, True)
                    else:
                        self._hand_on(None)
                raise
            if conn is not None:
                return conn

    def _hand_on(self, conn: Any) -> bool:
        """Give the first waiter still waiting ``conn`` (None: room to open one); False if none waits."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def _release(self, conn: Any, reusable: bool) -> None:
        if reusable and not self._closed and not conn.is_closed() and not conn.is_in_transaction():
            if not self._hand_on(conn):
                self._idle.append(conn)
            return
        self._open -= 1
        if not conn.is_closed():
            conn.terminate()
        self._hand_on(None)

    async def run(self, method: str, text: str, args: Sequence[Any]) -> Any:
        import asyncpg

        conn = await self._acquire()
        reusable = False
        try:
            result = await getattr(conn, method)(text, *args)
            reusable = True
            return result
        except asyncpg.PostgresError:  # the server's answer (SQLSTATE); _release still checks the connection
            reusable = True
            raise
        finally:
            self._release(conn, reusable)

    def drop_idle(self) -> None:
        """After a lost connection: the idle ones are likely gone too (server restarted, failover), even
        if asyncpg has not noticed yet; the retry then runs on a connection opened for it."""
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for conn in idle:
            conn.terminate()
        for _ in idle:
            if not self._hand_on(None):
                break

    async def close(self) -> None:
        """Closes the idle connections; those in use are closed when their call ends."""
        import asyncio

        self._closed = True
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # it sees the pool closed
        await asyncio.gather(*(conn.close() for conn in idle), return_exceptions=True)


class _AsyncBackend:
    def __init__(self, kind: str, target: Any, owns: bool, statement_cache: Optional[bool] = None) -> None:
        self.kind, self.target, self.owns = kind, target, owns
        self.statement_cache = statement_cache
        self._pool_methods = all(hasattr(target, m) for m in ("fetch", "fetchrow", "execute"))
        self._numeric: Dict[str, Tuple[str, List[str]]] = {}
        self._lost: Optional[Tuple[type, ...]] = None  # asyncpg's "connection lost" exceptions

    @classmethod
    async def make(cls, obj: Any, pooler: Optional[bool] = None, max_connections: int = 10) -> "_AsyncBackend":
        if isinstance(obj, str):
            import asyncpg

            dsn, kwargs = _asyncpg_connect_args(obj)
            if pooler is None:
                probe = await asyncpg.connect(dsn, statement_cache_size=0, **kwargs)
                try:
                    pooler = _detect_pooler(probe.get_server_pid(), await probe.fetchval("SELECT pg_backend_pid()"))
                finally:
                    await probe.close()
            # Behind a transaction pooler each transaction may run on another server connection, where
            # a named prepared statement does not exist (or another client's does): unnamed ones only.
            cache = not pooler

            def connect() -> Any:
                return asyncpg.connect(dsn, statement_cache_size=100 if cache else 0, **kwargs)

            return cls("own", _OwnPool(connect, max_connections), True, cache)
        try:
            from sqlalchemy.ext.asyncio import AsyncEngine
        except ImportError:  # SQLAlchemy is optional
            AsyncEngine = None  # type: ignore[assignment,misc]
        if AsyncEngine is not None and isinstance(obj, AsyncEngine):
            return cls("sqlalchemy", obj, False)
        if hasattr(obj, "acquire") and hasattr(obj, "release"):
            return cls("asyncpg", obj, False)
        raise UsageError("AsyncVault.open needs an asyncpg Pool, a SQLAlchemy AsyncEngine or a DSN")

    def _sql(self, sql: str) -> Tuple[str, List[str]]:
        converted = self._numeric.get(sql)
        if converted is None:
            converted = self._numeric[sql] = _to_numeric(sql)
        return converted

    async def _asyncpg(self, method: str, sql: str, params: Dict[str, Any]) -> Any:
        """Once more on another connection when the first was broken (server restarted, backend
        terminated), as the C++ Vault does."""
        lost = self._lost
        if lost is None:
            import asyncpg

            lost = self._lost = (asyncpg.exceptions.ConnectionDoesNotExistError,
                                 asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.PostgresConnectionError,
                                 ConnectionError)
        text, names = self._sql(sql)
        args = [params[n] for n in names]
        for attempt in (0, 1):
            try:
                if self.kind == "own":
                    return await self.target.run(method, text, args)
                if self._pool_methods:  # asyncpg's Pool.fetchrow etc.: acquire, run, release
                    return await getattr(self.target, method)(text, *args)
                async with self.target.acquire() as conn:
                    return await getattr(conn, method)(text, *args)
            except lost:
                if attempt == 1:
                    raise
                log.warning("database connection lost; retrying once on a new connection")
                if self.kind == "own":
                    self.target.drop_idle()
        raise AssertionError("unreachable")

    async def fetch(self, sql: str, params: Dict[str, Any]) -> List[Any]:
        if self.kind != "sqlalchemy":
            return list(await self._asyncpg("fetch", sql, params))
        from sqlalchemy import text as sa_text

        async with self.target.connect() as conn:
            result = await conn.execute(sa_text(sql), params)
            rows = list(result.fetchall())
            await conn.commit()
            return rows

    async def fetchrow(self, sql: str, params: Dict[str, Any]) -> Optional[Any]:
        """The first row (a Record or Row: indexable) or None."""
        if self.kind != "sqlalchemy":
            return await self._asyncpg("fetchrow", sql, params)
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Dict[str, Any]) -> None:
        if self.kind != "sqlalchemy":
            await self._asyncpg("execute", sql, params)
            return
        from sqlalchemy import text as sa_text

        async with self.target.begin() as conn:
            await conn.execute(sa_text(sql), params)

    async def close(self) -> None:
        if self.owns:
            await self.target.close()

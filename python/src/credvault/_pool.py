"""The asyncpg connections of an AsyncVault opened on a DSN (:class:`OwnPool`), and what the async
backends need of an asyncpg connection or pool (:class:`Queryable`, :class:`Connection`)."""
from __future__ import annotations

import asyncio
import collections
from typing import AsyncContextManager, Awaitable, Callable, Deque, List, Optional, Protocol, TypeVar, \
    runtime_checkable

from ._sql import Row

__all__ = ["Queryable", "Acquiring", "Connection", "OwnPool"]

T = TypeVar("T")


@runtime_checkable
class Queryable(Protocol):
    """An asyncpg Connection, or an asyncpg Pool (which acquires a connection per call)."""

    async def fetch(self, query: str, *args: object) -> List[Row]: ...

    async def fetchrow(self, query: str, *args: object) -> Optional[Row]: ...

    async def execute(self, query: str, *args: object) -> str: ...


@runtime_checkable
class Acquiring(Protocol):
    """A pool that lends connections (asyncpg's Pool, or a pool-like of the caller's)."""

    def acquire(self) -> AsyncContextManager[Queryable]: ...

    async def release(self, connection: Queryable) -> None: ...


class Connection(Queryable, Protocol):
    """An asyncpg Connection."""

    def is_closed(self) -> bool: ...

    def is_in_transaction(self) -> bool: ...

    def terminate(self) -> None: ...

    async def close(self) -> None: ...


class OwnPool:
    """At most ``max_size`` connections, the most recently used first, handed straight to a waiting
    call when released.

    asyncpg's Pool costs about as much per call as the query itself: acquire and release each take
    event-loop turns (release runs in a task of its own, shielded), and release resets the
    connection (``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``: a round trip).
    The vault runs one statement per call in its own transaction and leaves no session state (no
    SET, LISTEN, advisory lock or cursor), so a connection goes back as it is, with nothing to await.
    A connection that is closed, inside a transaction, or was interrupted (a cancelled call, any
    error but the server's answer to the statement) is closed instead of going back."""

    def __init__(self, connect: Callable[[], Awaitable[Connection]], max_size: int) -> None:
        self._connect = connect
        self._max = max_size
        self._idle: List[Connection] = []
        self._open = 0  # connections open or being opened
        # A connection, or None (room to open one), for each waiting call.
        self._waiters: Deque["asyncio.Future[Optional[Connection]]"] = collections.deque()
        self._closed = False

    def _closed_error(self) -> Exception:
        import asyncpg

        error: Exception = asyncpg.InterfaceError("the AsyncVault is closed")
        return error

    async def _acquire(self) -> Connection:
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
            waiter: "asyncio.Future[Optional[Connection]]" = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
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
            if handed is not None:
                return handed

    def _hand_on(self, conn: Optional[Connection]) -> bool:
        """Give the first waiter still waiting ``conn`` (None: room to open one); False if none waits."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def _release(self, conn: Connection, reusable: bool) -> None:
        if reusable and not self._closed and not conn.is_closed() and not conn.is_in_transaction():
            if not self._hand_on(conn):
                self._idle.append(conn)
            return
        self._open -= 1
        if not conn.is_closed():
            conn.terminate()
        self._hand_on(None)

    async def run(self, call: Callable[[Connection], Awaitable[T]]) -> T:
        import asyncpg

        conn = await self._acquire()
        reusable = False
        try:
            result = await call(conn)
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
        self._closed = True
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # it sees the pool closed
        await asyncio.gather(*(conn.close() for conn in idle), return_exceptions=True)

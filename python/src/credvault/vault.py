"""Vault (psycopg2, threads) and AsyncVault (asyncpg or a SQLAlchemy AsyncEngine).

Both read and write the ``credentials`` table as the C++ ``credvault::Vault`` does: the same SQL
(parameters only), the same upsert, the same capacity check before writing, the same errors.
Every call is one statement in its own transaction, with no session state, so both work through
PgBouncer in transaction mode. asyncpg: ``AsyncVault.open(dsn)`` uses asyncpg's statement cache on
a direct connection and none through a pooler (detected, or ``pooler=``); a pool of your own behind
PgBouncer needs ``statement_cache_size=0``.

The pieces, one concern a module: ``_sql`` (the statements), ``_dsn`` (connection strings),
``_core`` (open, get, put and find, whatever the driver), ``_sync`` (Vault), ``_async`` (AsyncVault and its
backends), ``_pool`` (AsyncVault's own asyncpg connections).
"""
from __future__ import annotations

from ._async import AsyncVault
from ._core import ClientAccount, Credentials
from ._dsn import normalize_dsn
from ._sync import Vault

__all__ = ["ClientAccount", "Credentials", "Vault", "AsyncVault", "normalize_dsn"]

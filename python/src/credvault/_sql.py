"""The statements of Vault and AsyncVault: those of the C++ ``credvault::Vault`` (src/vault/vault.cpp),
built from the one list of credential columns.

Written with named parameters (``:name``) and no ``::`` casts, converted for each driver: psycopg2's
``%(name)s`` (:func:`to_pyformat`), asyncpg's ``$n`` (:func:`to_numeric`); SQLAlchemy's ``text()``
takes them as they are.
"""
from __future__ import annotations

import re
from typing import Any, List, Sequence, Tuple

Row = Sequence[Any]
"""A result row as a driver returns it: an asyncpg Record, a SQLAlchemy Row, a psycopg2 tuple (the
drivers are untyped; the columns of each statement below say what a row holds)."""

TABLE = "credentials"
# The encrypted columns, in the C++ library's order (src/ledger/credentials_table.hpp;
# tests/scripts/columns_consistent.sh checks the two lists agree).
COLUMNS = ("client_id", "client_secret", "refresh_token")

_COLUMN_LIST = ", ".join(COLUMNS)
_WHERE_ACCOUNT = "FROM credentials WHERE account_id = :account_id"

SELECT_SQL = f"SELECT {_COLUMN_LIST} {_WHERE_ACCOUNT}"
# With the kids retired in credvault_keys (comma-separated or NULL), in the same round trip.
SELECT_WITH_RETIRED_SQL = (f"SELECT {_COLUMN_LIST}, "
                           f"(SELECT string_agg(kid, ',') FROM credvault_keys WHERE state = 'retired') {_WHERE_ACCOUNT}")
# NULL: there is no credvault_keys (no key lifecycle yet); else whether this role may read it.
LIFECYCLE_SQL = "SELECT has_table_privilege(to_regclass('credvault_keys'), 'SELECT')"
RETIRED_KIDS_SQL = "SELECT kid FROM credvault_keys WHERE state = 'retired'"
KID_RETIRED_SQL = "SELECT 1 FROM credvault_keys WHERE kid = :kid AND state = 'retired'"
ACCOUNT_EXISTS_SQL = "SELECT 1 FROM accounts WHERE id = :account_id"
CAPACITY_SQL = ("SELECT column_name, character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'credentials' "
                "AND column_name IN (" + ", ".join(f"'{c}'" for c in COLUMNS) + ")")
# :set_<column> says whether the column is being written; the others keep their stored value.
UPSERT_SQL = (f"INSERT INTO credentials (account_id, {_COLUMN_LIST}) "
              f"VALUES (:account_id, {', '.join(':' + c for c in COLUMNS)}) "
              "ON CONFLICT (account_id) DO UPDATE SET "
              + ", ".join(f"{c} = CASE WHEN CAST(:set_{c} AS boolean) THEN EXCLUDED.{c} ELSE credentials.{c} END"
                          for c in COLUMNS))

_PARAM_RE = re.compile(r":([a-z_]+)")


def to_pyformat(sql: str) -> str:
    return _PARAM_RE.sub(r"%(\1)s", sql)


def to_numeric(sql: str) -> Tuple[str, List[str]]:
    """``$n`` placeholders, and the parameter names in their order."""
    names: List[str] = []

    def number(m: "re.Match[str]") -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return _PARAM_RE.sub(number, sql), names

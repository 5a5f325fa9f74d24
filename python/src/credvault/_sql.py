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

# The blind index of client_id (docs/FORMAT.md, "Blind index of client_id"): not a credential column
# (never encrypted), written beside client_id in the same statement, under the same kid.
INDEXED_COLUMN = "client_id"
INDEX_COLUMN = "client_id_bidx"
assert INDEXED_COLUMN in COLUMNS and INDEX_COLUMN not in COLUMNS

_COLUMN_LIST = ", ".join(COLUMNS)
_WHERE_ACCOUNT = "FROM credentials WHERE account_id = :account_id"
_RETIRED_KIDS = "(SELECT string_agg(kid, ',') FROM credvault_keys WHERE state = 'retired')"

SELECT_SQL = f"SELECT {_COLUMN_LIST} {_WHERE_ACCOUNT}"
# With the kids retired in credvault_keys (comma-separated or NULL), in the same round trip.
SELECT_WITH_RETIRED_SQL = f"SELECT {_COLUMN_LIST}, {_RETIRED_KIDS} {_WHERE_ACCOUNT}"
# NULL: there is no credvault_keys (no key lifecycle yet); else whether this role may read it.
LIFECYCLE_SQL = "SELECT has_table_privilege(to_regclass('credvault_keys'), 'SELECT')"
RETIRED_KIDS_SQL = "SELECT kid FROM credvault_keys WHERE state = 'retired'"
KID_RETIRED_SQL = "SELECT 1 FROM credvault_keys WHERE kid = :kid AND state = 'retired'"
ACCOUNT_EXISTS_SQL = "SELECT 1 FROM accounts WHERE id = :account_id"
CAPACITY_SQL = ("SELECT column_name, character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'credentials' "
                "AND column_name IN (" + ", ".join(f"'{c}'" for c in COLUMNS) + ")")
# Whether the index column exists: a schema before 20261207_0004 has none (development may run behind
# the migrations). From the catalog, not information_schema, which hides the columns this role has no
# privilege on: a role missing the grant must fail loudly at put, never write a client_id unindexed.
INDEX_COLUMN_EXISTS_SQL = ("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('credentials') "
                           f"AND attname = '{INDEX_COLUMN}' AND NOT attisdropped)")


def _upsert(indexed: bool) -> str:
    """:set_<column> says whether the column is being written; the others keep their stored value. The
    index goes with its column: written when client_id is, kept when it is not."""
    columns = [*COLUMNS, INDEX_COLUMN] if indexed else list(COLUMNS)
    flag = {c: c for c in COLUMNS}
    flag[INDEX_COLUMN] = INDEXED_COLUMN
    return (f"INSERT INTO credentials (account_id, {', '.join(columns)}) "
            f"VALUES (:account_id, {', '.join(':' + c for c in columns)}) "
            "ON CONFLICT (account_id) DO UPDATE SET "
            + ", ".join(f"{c} = CASE WHEN CAST(:set_{flag[c]} AS boolean) THEN EXCLUDED.{c} ELSE credentials.{c} END"
                        for c in columns))


UPSERT_SQL = _upsert(indexed=True)
# The same on a schema that has no index column yet (the data step of 20261207_0006 indexes the rows).
UPSERT_UNINDEXED_SQL = _upsert(indexed=False)

# A lookup by client_id (docs/FORMAT.md): refused while some row has a client_id but no index (served by
# the partial index credentials_client_id_unindexed_idx), else the rows whose index is one of the
# wanted client_id's (one per ring key), with their account and client_id to decrypt and compare.
UNINDEXED_SQL = (f"SELECT EXISTS (SELECT 1 FROM credentials WHERE {INDEXED_COLUMN} IS NOT NULL "
                 f"AND {INDEX_COLUMN} IS NULL)")
_FIND = (f"SELECT c.account_id, a.amazon_account_id, c.{INDEXED_COLUMN}{{retired}} "
         "FROM credentials c JOIN accounts a ON a.id = c.account_id "
         f"WHERE c.{INDEX_COLUMN} = ANY(:indexes) ORDER BY c.account_id")
FIND_SQL = _FIND.format(retired="")
FIND_WITH_RETIRED_SQL = _FIND.format(retired=", " + _RETIRED_KIDS)

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

"""What Vault and AsyncVault do, without a driver: open, get, put and find as sequences of steps.

Each operation is a generator that yields the statements to run, one at a time (each in its own
transaction), receives each one's rows, and returns the result; a driver runs it with :func:`drive`
or :func:`drive_async`. An error a statement raises is thrown back into the generator at the
``yield`` that asked for it. So the logic (which statement, in which order, which error) is written
once, for psycopg2, asyncpg and SQLAlchemy alike.
"""
from __future__ import annotations

import dataclasses
import hmac
from typing import (Awaitable, Callable, Dict, FrozenSet, Generator, List, Mapping, NamedTuple, Optional, Sequence,
                    Tuple, TypeVar, Union)

from ._sql import (ACCOUNT_EXISTS_SQL, CAPACITY_SQL, COLUMNS, FIND_SQL, FIND_WITH_RETIRED_SQL, INDEX_COLUMN,
                   INDEX_COLUMN_EXISTS_SQL, INDEXED_COLUMN, KID_RETIRED_SQL, LIFECYCLE_SQL, SELECT_SQL,
                   SELECT_WITH_RETIRED_SQL, TABLE, UNINDEXED_SQL, UPSERT_SQL, UPSERT_UNINDEXED_SQL, Row)
from .errors import (CapacityError, NoCredentials, NoLifecycleGrant, NoSuchAccount, NotEncrypted, RetiredKid,
                     Unindexed, UsageError)
from .keyring import (Keyring, PlaintextLike, Secret, ciphertext_length, is_plaintext, max_plaintext_length,
                      plaintext_bytes)
from .schema import (HISTORY_EXISTS_SQL, HISTORY_SQL, check_at_head, check_environment, load_migrations,
                     resolve_migrations_dir)

__all__ = ["Credentials", "ClientAccount", "Core", "Params", "Statement", "Steps", "prepare_open", "open_steps",
           "get_steps", "put_steps", "find_steps", "drive", "drive_async", "DEFAULT_MAX_CONNECTIONS",
           "check_max_connections"]

T = TypeVar("T")
ParamValue = Union[str, int, bool, None, Sequence[str]]
Params = Mapping[str, ParamValue]
Statement = Tuple[str, Params]  # SQL with :name parameters (credvault._sql), and their values
Steps = Generator[Statement, List[Row], T]

DEFAULT_MAX_CONNECTIONS = 10
_FOREIGN_KEY_VIOLATION = "23503"


@dataclasses.dataclass(frozen=True)
class Credentials:
    """An account's credentials; each a :class:`Secret`, or None when the column is NULL."""

    client_id: Optional[Secret]
    client_secret: Optional[Secret]
    refresh_token: Optional[Secret]


class ClientAccount(NamedTuple):
    """An account of a Login-with-Amazon client, as ``find_accounts`` returns it."""

    account_id: int
    amazon_account_id: str


class Core:
    """The state of an open vault: its keyring, the columns' capacity, whether ``credvault_keys``
    exists (values under retired kids are then refused), whether the schema has the blind index of
    client_id (20261207_0004)."""

    def __init__(self, keyring: Keyring, capacity: Dict[str, int], lifecycle: bool, indexed: bool = True) -> None:
        self.keyring = keyring
        self.capacity = capacity
        self.lifecycle = lifecycle
        self.indexed = indexed

    def retired(self, row: Row, position: int) -> FrozenSet[str]:
        """The retired kids a statement read beside its columns, at ``position`` (none without a lifecycle)."""
        if not self.lifecycle:
            return frozenset()
        return frozenset((row[position] or "").split(",")) - {""}

    def decrypt(self, column: str, account_id: int, stored: str, retired: FrozenSet[str]) -> Secret:
        """A stored value of a credential column, refused as not encrypted yet when it is plaintext."""
        if is_plaintext(stored):
            raise NotEncrypted(f"credentials.{column} of account {account_id} is not encrypted yet: run "
                               "`credvault encrypt`")
        return self.keyring.decrypt(stored, column=column, account_id=account_id, table=TABLE, retired=retired)

    def decode(self, account_id: int, row: Row) -> Credentials:
        """A row of SELECT_SQL (with the retired kids last under a lifecycle) → Credentials."""
        retired = self.retired(row, len(COLUMNS))
        values: List[Optional[Secret]] = []
        for column, stored in zip(COLUMNS, row):
            values.append(None if stored is None else self.decrypt(column, account_id, stored, retired))
        return Credentials(*values)

    def encode(self, account_id: int, values: Sequence[Optional[PlaintextLike]]) -> Dict[str, ParamValue]:
        """``values`` in COLUMNS' order (None: keep the stored value) → UPSERT_SQL's parameters, with the
        blind index of a client_id under the primary key, the key that encrypts it. Every value's
        capacity is checked before any is encrypted."""
        params: Dict[str, ParamValue] = {"account_id": account_id}
        alg = self.keyring.alg
        for column, value in zip(COLUMNS, values):
            if value is None:
                continue
            size = len(value) if isinstance(value, (Secret, bytes)) else len(str(value).encode("utf-8"))
            needed = ciphertext_length(size, alg)
            limit = self.capacity.get(column, 0)
            if limit and needed > limit:
                raise CapacityError(f"credentials.{column} holds {limit} characters; this value needs {needed} once "
                                    f"encrypted (at most {max_plaintext_length(limit, alg)} bytes of plaintext fit); "
                                    "widen the column with a migration")
        if all(value is None for value in values):
            raise UsageError("nothing to store: give at least one of " + ", ".join(COLUMNS))
        for column, value in zip(COLUMNS, values):
            params[column] = None if value is None else self.keyring.encrypt(
                value, column=column, account_id=account_id, table=TABLE)
            params["set_" + column] = value is not None
            if column == INDEXED_COLUMN and self.indexed:
                params[INDEX_COLUMN] = None if value is None else self.keyring.primary_client_id_index(value)
        return params


def check_account_id(account_id: int) -> None:
    if isinstance(account_id, bool) or not isinstance(account_id, int) or not 1 <= account_id <= 2**31 - 1:
        raise UsageError("account_id must be an int between 1 and 2147483647")


def check_max_connections(max_connections: Optional[int], own_pool: bool) -> int:
    """The size of the pool open creates from a DSN; refused with a pool of the caller's."""
    if max_connections is None:
        return DEFAULT_MAX_CONNECTIONS
    if not own_pool:
        raise UsageError("max_connections= applies only when open is given a DSN (it then creates the pool); "
                         "size a pool of your own yourself")
    if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
        raise UsageError("max_connections must be an int of at least 1")
    return max_connections


def prepare_open(environment: str, migrations_dir: Optional[str]) -> Dict[str, str]:
    """What open checks before it connects: the environment's name; the migration files (revision →
    checksum)."""
    check_environment(environment)
    return load_migrations(resolve_migrations_dir(migrations_dir))


def open_steps(keyring: Keyring, migrations: Dict[str, str], environment: str,
               migrations_dir: Optional[str]) -> Steps[Core]:
    """As the C++ Vault::Open: the schema at the head of the migrations, the columns' capacity, the key
    lifecycle (NoLifecycleGrant when this role cannot read the retired kids)."""
    history: List[Row] = []
    if (yield HISTORY_EXISTS_SQL, {})[0][0]:
        history = yield HISTORY_SQL, {}
    check_at_head([(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in history], migrations, environment,
                  migrations_dir or "migrations")
    capacity = {str(r[0]): int(r[1]) if r[1] is not None else 0 for r in (yield CAPACITY_SQL, {})}
    indexed = bool((yield INDEX_COLUMN_EXISTS_SQL, {})[0][0])
    readable = (yield LIFECYCLE_SQL, {})[0][0]
    if readable is False:
        raise NoLifecycleGrant()
    return Core(keyring, capacity, lifecycle=readable is True, indexed=indexed)


def _no_such_account(account_id: int) -> NoSuchAccount:
    return NoSuchAccount(f"account {account_id} does not exist (no accounts row with id {account_id})")


def get_steps(core: Core, account_id: int) -> Steps[Credentials]:
    check_account_id(account_id)
    params = {"account_id": account_id}
    rows = yield (SELECT_WITH_RETIRED_SQL if core.lifecycle else SELECT_SQL), params
    if rows:
        return core.decode(account_id, rows[0])
    # Only on this miss path: tell a wrong account id from an account that has no credentials yet.
    if not (yield ACCOUNT_EXISTS_SQL, params):
        raise _no_such_account(account_id)
    raise NoCredentials(f"account {account_id} exists but has no credentials yet (no credentials row with "
                        f"account_id {account_id})")


def put_steps(core: Core, account_id: int, values: Sequence[Optional[PlaintextLike]]) -> Steps[None]:
    check_account_id(account_id)
    params = core.encode(account_id, values)
    if core.lifecycle and (yield KID_RETIRED_SQL, {"kid": core.keyring.primary_kid}):
        raise RetiredKid.of_primary(core.keyring.primary_kid)
    try:
        yield (UPSERT_SQL if core.indexed else UPSERT_UNINDEXED_SQL), params
    except Exception as e:  # the driver's error, whichever driver
        if _sqlstate(e) == _FOREIGN_KEY_VIOLATION:
            raise _no_such_account(account_id) from None
        raise


def find_steps(core: Core, client_id: PlaintextLike) -> Steps[List[ClientAccount]]:
    """The accounts whose client_id is exactly ``client_id``, by account id (docs/FORMAT.md, "Blind index
    of client_id"): refused (Unindexed) while a row has a client_id but no index; then the rows whose
    index is ``client_id``'s under any key of the ring, each one's client_id decrypted and compared, so
    that neither an HMAC collision nor a tampered index returns another client's account. A match that
    does not decrypt raises as get_credentials would."""
    wanted = plaintext_bytes(client_id, "client_id")
    if not core.indexed:
        raise Unindexed("credentials has no client_id_bidx column yet (the schema is before 20261207_0004): run "
                        "`credvault migrate`, whose 20261207_0006 step indexes every client_id")
    if (yield UNINDEXED_SQL, {})[0][0]:
        raise Unindexed("cannot find accounts by client_id: some credentials rows have a client_id but no blind "
                        "index yet (plaintext, or encrypted before client_id_bidx existed); run `credvault encrypt`")
    indexes = core.keyring.client_id_index_under_every_key(wanted)
    rows = yield (FIND_WITH_RETIRED_SQL if core.lifecycle else FIND_SQL), {"indexes": indexes}
    found: List[ClientAccount] = []
    for row in rows:
        account_id, stored = int(row[0]), row[2]
        if stored is None:  # an index beside no client_id: no client's account (verify reports it)
            continue
        secret = core.decrypt(INDEXED_COLUMN, account_id, stored, core.retired(row, 3))
        if hmac.compare_digest(secret.reveal_bytes(), wanted):
            found.append(ClientAccount(account_id, str(row[1])))
    return found


def _sqlstate(e: BaseException) -> Optional[str]:
    """psycopg2's ``pgcode``, asyncpg's ``sqlstate``; SQLAlchemy wraps either (``orig``)."""
    orig = getattr(e, "orig", None)
    for candidate in (e, orig, getattr(orig, "__cause__", None), e.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def drive(steps: Steps[T], run: Callable[[str, Params], List[Row]]) -> T:
    """Runs ``steps`` with ``run`` (a statement → its rows; [] for one that returns none)."""
    try:
        sql, params = next(steps)
        while True:
            try:
                rows = run(sql, params)
            except Exception as e:
                sql, params = steps.throw(e)
            else:
                sql, params = steps.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result


async def drive_async(steps: Steps[T], run: Callable[[str, Params], Awaitable[List[Row]]]) -> T:
    """:func:`drive` with a coroutine ``run``."""
    try:
        sql, params = next(steps)
        while True:
            try:
                rows = await run(sql, params)
            except Exception as e:
                sql, params = steps.throw(e)
            else:
                sql, params = steps.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result

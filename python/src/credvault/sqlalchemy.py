"""SQLAlchemy integration for an application's own ``Credential`` model.

A plain ``TypeDecorator`` cannot do this: it sees one column value, never the row's
``account_id``, and the account id is part of every value's AAD (docs/FORMAT.md). So this module
uses ORM events instead::

    from credvault.sqlalchemy import encrypt_columns
    encrypt_columns(Credential, keyring)        # once, at import time

* ``before_flush`` (every Session, including ``AsyncSession``'s sync session): each new or changed
  ``client_id`` / ``client_secret`` / ``refresh_token`` of a ``Credential`` is encrypted with the
  object's ``account_id`` as AAD before the INSERT/UPDATE is built;
* ``after_flush_postexec``: the object holds the plaintext again (as a :class:`~credvault.Secret`);
* ``load`` / ``refresh``: values read from the database are decrypted into :class:`~credvault.Secret`;
* ``after_soft_rollback``: when the flush failed, objects left in memory hold their plaintext again.

The blind index of ``client_id`` (``credentials.client_id_bidx``, docs/FORMAT.md) goes with every
``client_id`` the events write to ``credentials``, under the primary key as the value: in the same
INSERT/UPDATE when the model maps an attribute ``client_id_bidx`` (``Column(String(64))``), else by an
``UPDATE`` right after the flush, in the same transaction (skipped on a schema before 20261207_0004,
which has no such column). A ``client_id`` set to None clears it. So ``find_accounts`` finds rows the
ORM wrote, and never misses one through a stale index.

Keys retired with ``credvault keys retire`` (``credvault_keys``) hold here as in :class:`~credvault.Vault`:
a value under a retired kid is refused on load (:class:`~credvault.RetiredKid`, a value restored from
an old backup), and nothing is encrypted under a retired primary key (the flush raises ``RetiredKid``
before any row is written). The retired kids are read once per session transaction.

Assign ``str``, ``bytes`` or ``Secret``; read ``Secret`` (``.reveal()``). Set ``account_id`` before
the flush and do not change it afterwards (a value is bound to its account). Bulk operations
(``session.execute(update(...))``, ``bulk_save_objects``) bypass ORM events: use objects.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import QueryContext, Session, SessionTransaction, UOWTransaction, attributes

from ._sql import COLUMNS, INDEX_COLUMN, INDEX_COLUMN_EXISTS_SQL, INDEXED_COLUMN, LIFECYCLE_SQL, RETIRED_KIDS_SQL, TABLE
from .errors import NoLifecycleGrant, RetiredKid, UsageError
from .keyring import Keyring, Secret

__all__ = ["encrypt_columns"]

_STATE_KEY = "credvault_encrypted"
_RETIRED_KEY = "credvault_retired_kids"
_LIFECYCLE_SQL = text(LIFECYCLE_SQL)
_RETIRED_SQL = text(RETIRED_KIDS_SQL)
_INDEX_KEY = "credvault_client_id_indexes"
_INDEX_EXISTS_SQL = text(INDEX_COLUMN_EXISTS_SQL)
_SET_INDEX_SQL = text(f"UPDATE {TABLE} SET {INDEX_COLUMN} = :value WHERE account_id = :account_id")

# (object, column -> plaintext) encrypted by before_flush, in Session.info until the flush ends.
_Encrypted = List[Tuple[object, Dict[str, Secret]]]


def _retired_kids(session: Session) -> Set[str]:
    """The kids retired in ``credvault_keys`` (none when the table does not exist; NoLifecycleGrant
    when this role cannot read it), read once per transaction of ``session`` (a retirement committed
    meanwhile is seen by the next transaction)."""
    transaction = session.get_transaction()
    cached: Optional[Tuple[SessionTransaction, Set[str]]] = session.info.get(_RETIRED_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    connection = session.connection()
    kids: Set[str] = set()
    readable = connection.execute(_LIFECYCLE_SQL).scalar()
    if readable is False:
        raise NoLifecycleGrant()
    if readable:
        kids = {str(row[0]) for row in connection.execute(_RETIRED_SQL)}
    session.info[_RETIRED_KEY] = (session.get_transaction(), kids)
    return kids


_REGISTERED: Set[type] = set()


def encrypt_columns(model: type, keyring: Keyring, *,
                    columns: Sequence[str] = COLUMNS,
                    table: Optional[str] = None, account_id_attribute: str = "account_id",
                    session_class: type = Session) -> None:
    """Encrypt ``columns`` of ``model`` on flush and decrypt them on load.

    ``table`` (the AAD's table name) defaults to ``model.__tablename__``; values interoperate with
    the credvault CLI when it is ``credentials``."""
    if model in _REGISTERED:
        raise UsageError(f"encrypt_columns({model.__name__}) was already called: values would be encrypted twice")
    _REGISTERED.add(model)
    table_name = table or str(getattr(model, "__tablename__", "credentials"))
    names = tuple(columns)
    indexed = INDEXED_COLUMN in names and table_name == TABLE
    index_mapped: List[bool] = []  # whether the model maps client_id_bidx: known once the mappers are configured

    def account_of(target: object) -> int:
        account_id: int = getattr(target, account_id_attribute)
        return account_id

    def decrypt_into(target: object, columns: Iterable[str], session: Optional[Session]) -> None:
        for name in columns:
            value = target.__dict__.get(name)
            if isinstance(value, str):
                retired = _retired_kids(session) if session is not None else set()
                secret = keyring.decrypt(value, column=name, account_id=account_of(target), table=table_name,
                                         retired=retired)
                attributes.set_committed_value(target, name, secret)

    def on_load(target: object, context: QueryContext) -> None:
        decrypt_into(target, names, context.session)

    def on_refresh(target: object, context: QueryContext, attrs: Optional[Iterable[str]]) -> None:
        decrypt_into(target, names if attrs is None else [a for a in attrs if a in names], context.session)

    def set_index(session: Session, target: object, value: Optional[str]) -> None:
        """The blind index of the client_id being written: in the same statement when mapped, else after it."""
        if not index_mapped:
            index_mapped.append(INDEX_COLUMN in inspect(model).column_attrs)
        if index_mapped[0]:
            setattr(target, INDEX_COLUMN, value)
        else:
            session.info.setdefault(_INDEX_KEY, []).append((account_of(target), value))

    def before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
        done: _Encrypted = session.info.setdefault(_STATE_KEY, [])
        for target in list(session.new) + list(session.dirty):
            if not isinstance(target, model):
                continue
            plain: Dict[str, Secret] = {}
            for name in names:
                value = target.__dict__.get(name)
                is_new = target in session.new
                if value is None:
                    if indexed and name == INDEXED_COLUMN and not is_new and attributes.get_history(target, name).added:
                        set_index(session, target, None)  # client_id cleared: so is its index
                    continue
                if not is_new and not attributes.get_history(target, name).added:
                    continue
                if not plain and keyring.primary_kid in _retired_kids(session):
                    raise RetiredKid.of_primary(keyring.primary_kid)
                plain[name] = value if isinstance(value, Secret) else Secret(value)
                setattr(target, name, keyring.encrypt(plain[name], column=name, account_id=account_of(target),
                                                      table=table_name))
                if indexed and name == INDEXED_COLUMN:
                    set_index(session, target, keyring.primary_client_id_index(plain[name]))
            if plain:
                done.append((target, plain))

    def after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
        # The flush failed after before_flush: objects that stay in memory (pending ones are
        # expunged, not expired) get their plaintext back, so a retry does not encrypt ciphertext.
        session.info.pop(_INDEX_KEY, None)
        encrypted: _Encrypted = session.info.pop(_STATE_KEY, [])
        for target, plain in encrypted:
            for name, secret in plain.items():
                if isinstance(target.__dict__.get(name), str):
                    target.__dict__[name] = secret

    def after_flush(session: Session, flush_context: UOWTransaction) -> None:
        # A model that does not map client_id_bidx: its rows' index, in the flush's transaction.
        pending: List[Tuple[int, Optional[str]]] = session.info.pop(_INDEX_KEY, [])
        if not pending:
            return
        connection = session.connection()
        if not connection.execute(_INDEX_EXISTS_SQL).scalar():
            return  # a schema before 20261207_0004: its data step (20261207_0006) indexes the rows
        for account_id, value in pending:
            connection.execute(_SET_INDEX_SQL, {"value": value, "account_id": account_id})

    def after_flush_postexec(session: Session, flush_context: UOWTransaction) -> None:
        encrypted: _Encrypted = session.info.pop(_STATE_KEY, [])
        for target, plain in encrypted:
            for name, secret in plain.items():
                attributes.set_committed_value(target, name, secret)

    event.listen(model, "load", on_load, propagate=True)
    event.listen(model, "refresh", on_refresh, propagate=True)
    event.listen(session_class, "before_flush", before_flush)
    event.listen(session_class, "after_soft_rollback", after_soft_rollback)
    event.listen(session_class, "after_flush", after_flush)
    event.listen(session_class, "after_flush_postexec", after_flush_postexec)

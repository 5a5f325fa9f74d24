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

from sqlalchemy import event, text
from sqlalchemy.orm import QueryContext, Session, SessionTransaction, UOWTransaction, attributes

from ._sql import COLUMNS, LIFECYCLE_SQL, RETIRED_KIDS_SQL
from .errors import NoLifecycleGrant, RetiredKid, UsageError
from .keyring import Keyring, Secret

__all__ = ["encrypt_columns"]

_STATE_KEY = "credvault_encrypted"
_RETIRED_KEY = "credvault_retired_kids"
_LIFECYCLE_SQL = text(LIFECYCLE_SQL)
_RETIRED_SQL = text(RETIRED_KIDS_SQL)

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

    def before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
        done: _Encrypted = session.info.setdefault(_STATE_KEY, [])
        for target in list(session.new) + list(session.dirty):
            if not isinstance(target, model):
                continue
            plain: Dict[str, Secret] = {}
            for name in names:
                value = target.__dict__.get(name)
                if value is None:
                    continue
                is_new = target in session.new
                if not is_new and not attributes.get_history(target, name).added:
                    continue
                if not plain and keyring.primary_kid in _retired_kids(session):
                    raise RetiredKid.of_primary(keyring.primary_kid)
                plain[name] = value if isinstance(value, Secret) else Secret(value)
                setattr(target, name, keyring.encrypt(plain[name], column=name, account_id=account_of(target),
                                                      table=table_name))
            if plain:
                done.append((target, plain))

    def after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
        # The flush failed after before_flush: objects that stay in memory (pending ones are
        # expunged, not expired) get their plaintext back, so a retry does not encrypt ciphertext.
        encrypted: _Encrypted = session.info.pop(_STATE_KEY, [])
        for target, plain in encrypted:
            for name, secret in plain.items():
                if isinstance(target.__dict__.get(name), str):
                    target.__dict__[name] = secret

    def after_flush_postexec(session: Session, flush_context: UOWTransaction) -> None:
        encrypted: _Encrypted = session.info.pop(_STATE_KEY, [])
        for target, plain in encrypted:
            for name, secret in plain.items():
                attributes.set_committed_value(target, name, secret)

    event.listen(model, "load", on_load, propagate=True)
    event.listen(model, "refresh", on_refresh, propagate=True)
    event.listen(session_class, "before_flush", before_flush)
    event.listen(session_class, "after_soft_rollback", after_soft_rollback)
    event.listen(session_class, "after_flush_postexec", after_flush_postexec)

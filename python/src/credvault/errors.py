"""The exceptions credvault raises. Every one derives from :class:`Error`.

``reason`` is the C++ library's reason tag for the same failure, spelled as there: each
``REASON = "..."`` line below is one of them, and :data:`REASONS` maps each to its class. A family
(``InvalidKey``, ``NotCiphertext``, ``IntegrityError``, ``MalformedCiphertext``, ``SchemaError``,
``NotFound``) is what to catch; its members carry the tags. Where the C++ library gives a failure no
tag (a key file that cannot be read, a migration stopped part-way, ...), ``reason`` is ``""`` here too.

No message ever contains a key byte or a plaintext: they name the location
(column, account), the kid, a file path or a migration revision.
"""
from __future__ import annotations

from typing import ClassVar, Dict, Iterator, Sequence, Type

__all__ = [
    "Error", "REASONS",
    "InvalidKey", "BadKey", "WeakKey", "DuplicateKid", "NoKey", "KeyCommandFailed", "InsecureKeyFile",
    "NotCiphertext", "NotEnvelope", "NotEncrypted",
    "IntegrityError", "AuthFailed", "RetiredKid",
    "MalformedCiphertext", "BadVersion", "BadStructure", "BadAlgorithm", "BadKid", "BadBase64", "Base64Padding",
    "TooShort",
    "UnknownKid", "NoLifecycleGrant",
    "SchemaError", "SchemaBehind", "MissingMigrationFile", "EditedMigration",
    "NotFound", "NoSuchAccount", "NoCredentials",
    "CapacityError", "Unindexed", "UsageError",
]


class Error(Exception):
    """Base class. :attr:`reason` is the C++ library's reason tag (``""`` where it has none)."""

    REASON: ClassVar[str] = ""

    @property
    def reason(self) -> str:
        return self.REASON


# Keys.

class InvalidKey(Error, ValueError):
    """A key is unusable (the members below), or a key file cannot be read, or a key source cannot be
    used here (``wrapped:``)."""


class BadKey(InvalidKey):
    """``base64:`` followed by anything but standard base64, or a key that is not UTF-8."""

    REASON = "bad_key"


class WeakKey(InvalidKey):
    """A key shorter than 32 bytes, or a ``base64:`` key that does not decode to exactly 32."""

    REASON = "weak_key"


class DuplicateKid(InvalidKey):
    """Two keys of a keyring are the same key."""

    REASON = "duplicate_kid"


class NoKey(InvalidKey):
    """No key given (``SECRET_KEY`` unset or empty)."""

    REASON = "no_key"


class KeyCommandFailed(InvalidKey):
    """An ``exec:`` key command failed, timed out or printed nothing (its stderr is quoted)."""

    REASON = "key_command"


class InsecureKeyFile(InvalidKey):
    """A key file is readable or writable by group or other (mode & 077 != 0): ``chmod 600`` it; or it is
    owned by another user than this process's (effective) user or root: ``chown`` it."""


# Values that are not ciphertext.

class NotCiphertext(Error, ValueError):
    """The value is not credvault ciphertext at all: plaintext or garbage."""


class NotEnvelope(NotCiphertext):
    """Given to :meth:`Keyring.decrypt`: no ``cv1:`` prefix (and no other version's)."""

    REASON = "not_envelope"


class NotEncrypted(NotCiphertext):
    """Read by a Vault: the stored value is still plaintext (run ``credvault encrypt``)."""

    REASON = "plaintext"


# Ciphertext that does not decrypt here.

class IntegrityError(Error):
    """The value is credvault ciphertext (or claims to be) but does not decrypt here."""


class AuthFailed(IntegrityError):
    """The tag does not verify: tampered, truncated, written for another column/account/table, or its
    header edited."""

    REASON = "auth_failed"


class RetiredKid(IntegrityError):
    """The value is under a key (``kid``) retired with ``credvault keys retire``: refused even when
    that key is still in the keyring (a value restored from an old backup, or written by a process
    still holding the old key). Also raised when the primary key itself is retired: nothing may be
    encrypted under it."""

    REASON = "retired_kid"

    def __init__(self, message: str, kid: str) -> None:
        super().__init__(message)
        self.kid = kid

    @classmethod
    def of_value(cls, location: str, kid: str) -> "RetiredKid":
        """``location``: ``"<table>.<column> of account <id>"``."""
        return cls(f"{location} is under key {kid}, which is retired: refused (a value restored from an old "
                   "backup, or written by a process still holding the old key)", kid)

    @classmethod
    def of_primary(cls, kid: str) -> "RetiredKid":
        return cls(f"the primary key {kid} is retired: nothing may be encrypted under it; configure a new "
                   "primary key", kid)


class MalformedCiphertext(IntegrityError):
    """The value starts with ``cv1:`` but does not parse strictly (docs/FORMAT.md): a damaged or
    truncated value (the members below name the fault); or it starts with ``cv<digits>:`` of another
    version than 1 (:class:`BadVersion`). Never treated as plaintext."""


class BadVersion(MalformedCiphertext):
    """``cv<digits>:`` of another version than 1: a format this version does not know, never plaintext."""

    REASON = "bad_version"


class BadStructure(MalformedCiphertext):
    """Not exactly four ``:``-separated fields."""

    REASON = "bad_structure"


class BadAlgorithm(MalformedCiphertext):
    """The algorithm is neither ``x`` nor ``g``."""

    REASON = "bad_algorithm"


class BadKid(MalformedCiphertext):
    """The kid is not 8 lowercase hex characters."""

    REASON = "bad_kid"


class BadBase64(MalformedCiphertext):
    """The payload is not canonical base64url (a character outside the alphabet, an impossible length,
    stray trailing bits)."""

    REASON = "bad_base64"


class Base64Padding(MalformedCiphertext):
    """The payload has base64 padding (``=``), which v1 forbids."""

    REASON = "padding"


class TooShort(MalformedCiphertext):
    """The payload is shorter than nonce and tag."""

    REASON = "too_short"


class UnknownKid(Error, LookupError):
    """The value is under a key (``kid``) that is not in the keyring: add it as a fallback."""

    REASON = "unknown_kid"

    def __init__(self, message: str, kid: str) -> None:
        super().__init__(message)
        self.kid = kid


class NoLifecycleGrant(Error):
    """The database role cannot read ``credvault_keys`` (the retired keys, which every reader must
    refuse): ``open`` fails closed, as the C++ Vault::Open does, rather than let a retired key go
    unnoticed; so do the SQLAlchemy events on their first read."""

    REASON = "no_lifecycle_grant"

    def __init__(self) -> None:
        super().__init__("this database role cannot read credvault_keys (the retired keys, which every reader must "
                         "refuse): GRANT SELECT ON credvault_keys TO the application role (docs/ROLES.md)")


# The schema.

class SchemaError(Error):
    """The database schema cannot be used as it is (history unfinished, out of order, edited or
    missing migration files, no migration files): see ``credvault status`` / ``credvault check``."""


class SchemaBehind(SchemaError):
    """Migrations of ``migrations_dir`` are not applied yet (``pending`` lists their revisions)."""

    REASON = "pending_migrations"

    def __init__(self, message: str, pending: Sequence[str]) -> None:
        super().__init__(message)
        self.pending = list(pending)


class MissingMigrationFile(SchemaError):
    """An applied revision has no migration file."""

    REASON = "missing_file"


class EditedMigration(SchemaError):
    """An applied migration file was edited after it was applied (its checksum differs)."""

    REASON = "checksum"


# Accounts.

class NotFound(Error, LookupError):
    """No such account, or the account has no credentials yet."""


class NoSuchAccount(NotFound):
    """The account id names no ``accounts`` row."""

    REASON = "no_such_account"


class NoCredentials(NotFound):
    """The account exists but has no ``credentials`` row yet."""

    REASON = "no_credentials"


class CapacityError(Error, ValueError):
    """A value would not fit its column once encrypted; nothing was written."""

    REASON = "capacity"


class Unindexed(Error):
    """A lookup by ``client_id`` cannot be complete: some rows have a ``client_id`` but no blind index
    yet (plaintext, or written before the index existed). ``credvault encrypt`` indexes them."""

    REASON = "unindexed"


class UsageError(Error, ValueError):
    """The call itself is wrong (nothing to store, unknown environment or algorithm, ...)."""

    REASON = "usage"


def _tagged(family: Type[Error]) -> Iterator[Type[Error]]:
    for cls in family.__subclasses__():
        if cls.REASON:
            yield cls
        yield from _tagged(cls)


REASONS: Dict[str, Type[Error]] = {cls.REASON: cls for cls in _tagged(Error)}
"""Each C++ reason tag this package raises → the class raised with it (``type(e) is REASONS[e.reason]``)."""

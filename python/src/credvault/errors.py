"""The exceptions credvault raises. Every one derives from :class:`Error`.

No message ever contains a key byte or a plaintext: they name the location
(column, account), the kid, a file path or a migration revision.
"""
from __future__ import annotations

from typing import Optional, Sequence

__all__ = [
    "Error", "InvalidKey", "InsecureKeyFile", "NotCiphertext", "IntegrityError", "MalformedCiphertext",
    "UnknownKid", "RetiredKid", "SchemaError", "SchemaBehind", "NotFound", "CapacityError", "UsageError",
]


class Error(Exception):
    """Base class. ``reason`` is a short machine-readable code (the C++ tool's reason where it has one)."""

    reason: str = "error"

    def __init__(self, message: str, reason: Optional[str] = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class InvalidKey(Error, ValueError):
    """A key is unusable: too short (``weak_key``), bad ``base64:`` text or not UTF-8 (``bad_key``),
    two keys of a keyring are the same key (``duplicate_kid``), no key given (``no_key``), or a
    key file cannot be read."""

    reason = "bad_key"


class InsecureKeyFile(InvalidKey):
    """A key file is readable or writable by group or other (mode & 077 != 0): ``chmod 600`` it; or it is
    owned by another user than this process's (effective) user or root: ``chown`` it."""

    reason = "key_file_mode"


class NotCiphertext(Error, ValueError):
    """The value is not credvault ciphertext at all (no ``cv1:`` prefix): plaintext or garbage."""

    reason = "plaintext"


class IntegrityError(Error):
    """The value is credvault ciphertext but does not decrypt here: the tag does not verify
    (tampered, truncated, written for another column/account/table, or its header edited)."""

    reason = "integrity"


class MalformedCiphertext(IntegrityError):
    """The value starts with ``cv1:`` but does not parse strictly (docs/FORMAT.md): a damaged or
    truncated value; or it starts with ``cv<digits>:`` of another version than 1 (``reason``
    ``bad_version``). Never treated as plaintext."""

    reason = "malformed"


class RetiredKid(IntegrityError):
    """The value is under a key (``kid``) retired with ``credvault keys retire``: refused even when
    that key is still in the keyring (a value restored from an old backup, or written by a process
    still holding the old key)."""

    reason = "retired_kid"

    def __init__(self, message: str, kid: str) -> None:
        super().__init__(message)
        self.kid = kid


class UnknownKid(Error, LookupError):
    """The value is under a key (``kid``) that is not in the keyring: add it as a fallback."""

    reason = "unknown_kid"

    def __init__(self, message: str, kid: str) -> None:
        super().__init__(message)
        self.kid = kid


class SchemaError(Error):
    """The database schema cannot be used as it is (history unfinished, out of order, edited or
    missing migration files): see ``credvault status`` / ``credvault check``."""

    reason = "schema"


class SchemaBehind(SchemaError):
    """Migrations of ``migrations_dir`` are not applied yet (``pending`` lists their revisions)."""

    reason = "pending_migrations"

    def __init__(self, message: str, pending: Sequence[str]) -> None:
        super().__init__(message)
        self.pending = list(pending)


class NotFound(Error, LookupError):
    """No such account (``no_such_account``) or the account has no credentials yet (``no_credentials``)."""

    reason = "not_found"


class CapacityError(Error, ValueError):
    """A value would not fit its column once encrypted; nothing was written."""

    reason = "capacity"


class UsageError(Error, ValueError):
    """The call itself is wrong (nothing to store, unknown environment or algorithm, ...)."""

    reason = "usage"

"""credvault for Python: credentials encrypted by the credvault tool (cv1 format, docs/FORMAT.md).

* :class:`Keyring` — keys from SECRET_KEY / SECRET_KEY_FALLBACKS or 0600 key files; ``encrypt``/``decrypt``.
* :class:`Secret` — a decrypted value; masked in repr/str/logs, ``.reveal()`` gives the text.
* :class:`Vault` (psycopg2) and :class:`AsyncVault` (asyncpg, SQLAlchemy AsyncEngine) —
  ``get_credentials`` / ``put_credentials`` on the ``credentials`` table.
* :mod:`credvault.sqlalchemy` — encrypt/decrypt an application's own ORM model.

Errors (all subclasses of :class:`Error`): InvalidKey (InsecureKeyFile), NotCiphertext,
IntegrityError (MalformedCiphertext), UnknownKid, SchemaError (SchemaBehind), NotFound,
CapacityError, UsageError.
"""
from .errors import (CapacityError, Error, InsecureKeyFile, IntegrityError, InvalidKey, MalformedCiphertext,
                     NotCiphertext, NotFound, RetiredKid, SchemaBehind, SchemaError, UnknownKid,
                     UsageError)
from .keyring import Keyring, Secret, ciphertext_length, is_ciphertext, max_plaintext_length
from .vault import AsyncVault, Credentials, Vault, normalize_dsn

__version__ = "0.1.0"

__all__ = [
    "Keyring", "Secret", "Vault", "AsyncVault", "Credentials", "ciphertext_length", "max_plaintext_length",
    "is_ciphertext", "normalize_dsn",
    "Error", "InvalidKey", "InsecureKeyFile", "NotCiphertext", "IntegrityError", "MalformedCiphertext",
    "UnknownKid", "RetiredKid", "SchemaError", "SchemaBehind", "NotFound", "CapacityError", "UsageError",
]

"""credvault for Python: credentials encrypted by the credvault tool (cv1 format, docs/FORMAT.md).

* :class:`Keyring` — keys from SECRET_KEY / SECRET_KEY_FALLBACKS or 0600 key files; ``encrypt``/``decrypt``.
* :class:`Secret` — a decrypted value; masked in repr/str/logs, ``.reveal()`` gives the text.
* :class:`Vault` (psycopg2) and :class:`AsyncVault` (asyncpg, SQLAlchemy AsyncEngine) —
  ``get_credentials`` / ``put_credentials`` on the ``credentials`` table, ``find_accounts`` by client_id.
* :mod:`credvault.sqlalchemy` — encrypt/decrypt an application's own ORM model.

Errors: :class:`Error` and its families (InvalidKey, NotCiphertext, IntegrityError, MalformedCiphertext,
SchemaError, NotFound, ...), each member carrying the C++ library's reason tag as ``reason``;
:data:`REASONS` maps each tag to its class (:mod:`credvault.errors`).
"""
from . import errors
from .errors import *  # noqa: F401,F403 (every exception and REASONS: errors.__all__)
from .keyring import Keyring, Secret, ciphertext_length, is_ciphertext, max_plaintext_length
from .vault import AsyncVault, ClientAccount, Credentials, Vault, normalize_dsn

__version__ = "0.1.0"

__all__ = [
    "Keyring", "Secret", "Vault", "AsyncVault", "Credentials", "ClientAccount", "ciphertext_length",
    "max_plaintext_length", "is_ciphertext", "normalize_dsn",
]
__all__ += errors.__all__

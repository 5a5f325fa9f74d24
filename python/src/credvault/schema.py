"""Is the database schema at the head of the migration files? (as the C++ Vault checks)."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import EditedMigration, MissingMigrationFile, SchemaBehind, SchemaError, UsageError

log = logging.getLogger("credvault")

ENVIRONMENTS = ("development", "staging", "production")
# CMake installs the migrations to ${CMAKE_INSTALL_DATADIR}/credvault/migrations
# (prefix /usr/local by default, /usr for distribution packages).
INSTALLED_MIGRATION_DIRS = ("/usr/local/share/credvault/migrations", "/usr/share/credvault/migrations")
_FILE_RE = re.compile(r"^[0-9]{8}_[0-9]{4}_[a-z0-9_]+\.sql$")

HISTORY_EXISTS_SQL = "SELECT to_regclass('credvault_schema_history') IS NOT NULL"
HISTORY_SQL = ("SELECT revision, checksum, state, coalesce(to_jsonb(h) ->> 'applied_ahead_of', '') "
               "FROM credvault_schema_history h ORDER BY revision")


def resolve_migrations_dir(migrations_dir: Optional[str]) -> str:
    if migrations_dir is not None:
        return os.fspath(migrations_dir)
    for candidate in ("migrations", *INSTALLED_MIGRATION_DIRS):
        if os.path.isdir(candidate):
            return candidate
    raise SchemaError("no migrations directory: give migrations_dir= (none at ./migrations or "
                      + " or ".join(INSTALLED_MIGRATION_DIRS) + ")")


def load_migrations(directory: str) -> Dict[str, str]:
    """revision → checksum (SHA-256 of the file with CRLF read as LF), as the C++ migrator."""
    out: Dict[str, str] = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError as e:
        raise SchemaError(f"cannot read migrations directory {directory}: {e.strerror}") from None
    for name in names:
        if not name.endswith(".sql") or not _FILE_RE.match(name):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            content = f.read().replace(b"\r\n", b"\n")
        out[name[:13]] = hashlib.sha256(content).hexdigest()
    if not out:
        raise SchemaError(f"no migration files in {directory}")
    return out


def check_at_head(history: Sequence[Tuple[str, str, str, str]], migrations: Dict[str, str], environment: str,
                  directory: str) -> None:
    """history rows: (revision, checksum, state, applied_ahead_of)."""
    rows = {r[0]: r for r in history}
    in_order_tip = max((r[0] for r in history if r[2] == "applied" and not r[3]), default="")
    current = max((r[0] for r in history if r[2] == "applied"), default="")
    unfinished = [r[0] for r in history if r[2] != "applied"]
    if unfinished:
        raise SchemaError(f"migration {unfinished[0]} stopped part-way (see `credvault status`)")
    missing = [rev for rev in rows if rev not in migrations]
    pending: List[str] = []
    out_of_order: List[str] = []
    changed: List[str] = []
    for rev, checksum in sorted(migrations.items()):
        row = rows.get(rev)
        if row is not None:
            if row[1] != checksum:
                changed.append(rev)
        elif rev < in_order_tip:
            out_of_order.append(rev)
        else:
            pending.append(rev)
    if out_of_order:
        raise SchemaError(f"revision(s) {', '.join(out_of_order)} are not applied but older than the current "
                          f"revision {current} (see `credvault status`)")
    if missing:
        raise MissingMigrationFile(f"applied revision {missing[0]} has no migration file in {directory}")
    if changed:
        raise EditedMigration(f"applied migration {changed[0]} was edited after it was applied (checksum differs; "
                              "see `credvault check`)")
    if not pending:
        return
    message = (f"the database schema is {len(pending)} migration(s) behind: {', '.join(pending)} pending; "
               "run `credvault migrate`")
    if environment == "development":
        log.warning("%s", message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)
        return
    raise SchemaBehind(message + f" before starting the application in {environment}", pending)


def check_environment(environment: str) -> None:
    if environment not in ENVIRONMENTS:
        raise UsageError(f"environment must be one of {', '.join(ENVIRONMENTS)}")

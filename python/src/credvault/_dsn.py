"""Connection strings: a libpq conninfo or URL, a SQLAlchemy URL, and what asyncpg takes instead."""
from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

from .errors import UsageError

__all__ = ["normalize_dsn", "parse_conninfo", "asyncpg_connect_args"]

_DRIVER_RE = re.compile(r"^(postgresql|postgres)\+[A-Za-z0-9_]+://")
_URL_RE = re.compile(r"^postgres(ql)?://")
_CONNINFO_RE = re.compile(r"\s*([A-Za-z_]+)\s*=\s*('((?:[^'\\]|\\.)*)'|(\S*))")


def normalize_dsn(dsn: str) -> str:
    """libpq conninfo or URL; a SQLAlchemy URL's driver part (``postgresql+asyncpg://``) is dropped."""
    m = _DRIVER_RE.match(dsn)
    if m:
        return "postgresql://" + dsn[m.end():]
    return dsn


def parse_conninfo(conninfo: str) -> Dict[str, str]:
    """libpq ``key=value`` conninfo (values optionally single-quoted with backslash escapes) → dict."""
    out: Dict[str, str] = {}
    pos = 0
    while conninfo[pos:].strip():
        m = _CONNINFO_RE.match(conninfo, pos)
        if not m:
            raise UsageError("the DSN is neither a URL nor libpq key=value conninfo")
        value = re.sub(r"\\(.)", r"\1", m.group(3)) if m.group(3) is not None else m.group(4)
        out[m.group(1)] = value
        pos = m.end()
    return out


AsyncpgArgs = Dict[str, object]


def asyncpg_connect_args(dsn: str) -> Tuple[Optional[str], AsyncpgArgs]:
    """asyncpg takes URLs only: a libpq conninfo becomes keyword arguments (PG* variables fill the rest)."""
    dsn = normalize_dsn(dsn)
    if _URL_RE.match(dsn):
        return dsn, {}
    kwargs: AsyncpgArgs = {}
    settings: Dict[str, str] = {}
    for key, value in parse_conninfo(dsn).items():
        if key in ("host", "user", "password"):
            kwargs[key] = value
        elif key == "port":
            kwargs["port"] = int(value)
        elif key == "dbname":
            kwargs["database"] = value
        elif key == "sslmode":
            kwargs["ssl"] = value
        elif key == "connect_timeout":
            kwargs["timeout"] = float(value)
        elif key == "application_name":
            settings[key] = value
        else:
            raise UsageError(f"conninfo keyword {key!r} is not supported with asyncpg: give a postgresql:// URL")
    if settings:
        kwargs["server_settings"] = settings
    return None, kwargs

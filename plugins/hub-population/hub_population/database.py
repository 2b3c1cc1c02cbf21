"""Opening the vendor's database: every way that fails is one clear line, and never shows a password."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from hub.errors import SourceError


def safe_url(url: str) -> str:
    """The URL as it may be shown: any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def describe(exc: BaseException, url: str) -> str:
    """The driver's own first line (``Connection refused``, ``Unknown database``), scrubbed of the password."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    reason = lines[0] if lines else type(orig).__name__
    try:
        password = make_url(url).password
    except ArgumentError:
        password = None
    if password:
        reason = reason.replace(str(password), "***")
    return reason[:300]


def open_engine(url: str) -> Engine:
    """An engine without a pool (one connection per read); a missing SQLite file is an error, not a new DB."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SourceError(f"population: not a database URL: {safe_url(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:") and not Path(db).is_file():
            raise SourceError(f"population: database file not found: {db}")
    try:
        return create_engine(parsed, poolclass=NullPool)
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise SourceError(f"population: cannot use {safe_url(url)}: {describe(exc, url)}") from None


def connect(engine: Engine, url: str) -> Connection:
    try:
        return engine.connect()
    except SQLAlchemyError as exc:
        raise SourceError(f"population: cannot connect to {safe_url(url)}: {describe(exc, url)}") from None


def find_table(conn: Connection, name: str, url: str) -> tuple[str, dict[str, str], dict[str, TypeEngine]]:
    """The table's actual name, its columns (lower-case name -> actual), matched case-insensitively, and
    their reflected types by lower-case name (``gxsj`` may be a vendor's varchar instead of a datetime)."""
    insp = inspect(conn)
    tables = insp.get_table_names()
    actual = name if name in tables else next((t for t in tables if t.lower() == name.lower()), None)
    if actual is None:
        raise SourceError(f"population: table {name} not found in {safe_url(url)}")
    columns = insp.get_columns(actual)
    return actual, {c["name"].lower(): c["name"] for c in columns}, {c["name"].lower(): c["type"] for c in columns}

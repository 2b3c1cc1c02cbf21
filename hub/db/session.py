"""Engines and sessions for the unified store (SQLite embedded by default, PostgreSQL in production)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import HubError


def json_text(value: Any) -> str:
    """JSON columns written with orjson: the stdlib encoder was ~4% of a county's first resolve
    (provenance on every golden row); what orjson refuses (integers beyond 64 bits) falls back."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, ensure_ascii=False)


def json_value(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except ValueError:  # NaN and the like, written before orjson or by hand
        return json.loads(text)


#: every engine on the store: ``create_engine(url, **JSON_CODEC)``
JSON_CODEC: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": json_value}


#: page cache of one store connection, KiB (SQLite's default is 2,000)
SQLITE_CACHE_KIB = 131_072


def private_store(path: Path) -> None:
    """The SQLite file is 0600 before SQLite first opens it: SQLite gives its -wal and -shm the
    store's own mode, so names, categories and ciphertexts are never readable by other local users."""
    from hub.privacy.files import FILE_MODE, private_dir

    if not path.parent.exists():
        private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            os.chmod(companion, FILE_MODE)


@cache
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        private_store(Path(url[len("sqlite:///") :].split("?", 1)[0]))
    engine = create_engine(url, future=True, pool_pre_ping=True, **JSON_CODEC)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # resolve's bulk writes probe indexes and foreign keys in random order: with SQLite's default
            # 2 MB page cache each probe rereads and each dirty page spills to the WAL again (placing
            # 537k persons: 15.5 s of UPDATE at 2 MB, 9.5 s at 128 MB); sorts for index builds in memory
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

    return engine


def ping(engine: Engine) -> None:
    """One clear line when the store is unreachable."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise HubError(f"cannot reach the database {engine.url.render_as_string(hide_password=True)}: "
                       f"{str(exc.orig).splitlines()[0]}") from None


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    factory = session_factory(url)
    with factory() as session:
        try:
            with session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise HubError(f"database error: {str(exc).splitlines()[0]}") from exc

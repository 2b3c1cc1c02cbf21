"""Shared fixtures: the machine's real PostgreSQL and MariaDB.

Under CI (``CI=true``) an unreachable server fails the run; locally it skips with one line.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

PG_ADMIN = os.environ.get("HUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN = os.environ.get("HUB_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")


def _unavailable(what: str, exc: Exception) -> None:
    reason = f"{what} unreachable: {str(exc).splitlines()[0][:160]}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: real servers are required)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _test_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write a key file in the repo; each gets a fixed secret from the environment."""
    monkeypatch.setenv("HUB_SECRET_KEY", os.environ.get("HUB_SECRET_KEY", "test-secret-key"))


@contextmanager
def _fresh_database(what: str, admin_url: str, create: str, drop: str, url: str,
                    engine_options: dict[str, object]) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    admin = create_engine(admin_url, **engine_options)
    try:
        with admin.connect() as conn:
            conn.execute(text(create))
    except OperationalError as exc:
        _unavailable(what, exc)
    try:
        yield url
    finally:
        from hub.db.session import get_engine

        get_engine(url).dispose()  # close pooled connections before the drop
        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"gridhub_t_{secrets.token_hex(4)}"
    with _fresh_database("PostgreSQL", PG_ADMIN, f'CREATE DATABASE "{name}"',
                         f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                         PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", {"isolation_level": "AUTOCOMMIT"}) as url:
        yield url


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database for one test, dropped afterwards."""
    name = f"gridhub_t_{secrets.token_hex(4)}"
    with _fresh_database("MariaDB", MARIADB_ADMIN, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
                         f"DROP DATABASE IF EXISTS `{name}`",
                         MARIADB_ADMIN.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4", {}) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The unified store on each supported backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return request.getfixturevalue("postgres_url")

"""Fixtures: a small synthetic county and the real simulated public-security server over loopback.

Tests reach the helpers through the ``ps`` fixture (the suite runs with --import-mode=importlib,
so test modules cannot import this conftest by name).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.connector.landing import RunFolder, iter_raw_tables
from hub.context import HubContext
from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.synth import generate
from hub.synth.server import STREAMS, ServerHandle, Store, start_in_thread

TOKEN = "ps-test-token-7f3a9c"
TOKEN_ENV = "PS_TEST_TOKEN"
SOURCE = "public-security"


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, residents=1500, days=2, noise="heavy")  # heavy: every fault kind occurs even in a small county
    return out


Serve = Callable[..., tuple[str, ServerHandle]]


@pytest.fixture
def serve(county: Path) -> Iterator[Serve]:
    """Start the real server (defaults: county data, day 0, no throttling, no 503s); stopped after the test."""
    handles: list[ServerHandle] = []

    def start(data: Path | None = None, **knobs: Any) -> tuple[str, ServerHandle]:
        knobs = {"day": 0, "rate_limit_per_s": 0.0, "fail_rate": 0.0, **knobs}
        url, handle = start_in_thread(data or county, TOKEN, **knobs)
        handles.append(handle)
        return url, handle

    yield start
    for handle in handles:
        handle()


def write_config(folder: Path, base_url: str, **options: Any) -> Path:
    opts = {"connector": "public-security", "base_url": base_url, "token_env": TOKEN_ENV, **options}
    config = folder / "hub.yaml"
    config.write_text(f"sources:\n  {SOURCE}: {json.dumps(opts)}\n", "utf-8")
    return config


def server_view(data: Path, day: int) -> dict[str, dict[str, dict]]:
    """What the server holds on ``day``: stream -> key -> record (newest version)."""
    store = Store(data)
    return {s: {r[key]: r for r in store.view(s, day)[1]} for s, key in STREAMS.items()}


def stored(ctx: HubContext) -> dict[str, dict[str, dict]]:
    """Loaded source records: stream -> source_key -> canonical data (PII only as index/ciphertext)."""
    out: dict[str, dict[str, dict]] = {s: {} for s in STREAMS}
    with transaction(ctx.db_url) as session:
        for rec in session.scalars(select(SourceRecord).where(SourceRecord.source == SOURCE)):
            out[rec.stream][rec.source_key] = dict(rec.data)
    return out


def emitted(ctx: HubContext, run_id: str) -> dict[str, list[tuple[str, str]]]:
    """What the connector handed to the hub in one run: stream -> [(key, updatedAt)] from the raw landing files."""
    out: dict[str, list[tuple[str, str]]] = {s: [] for s in STREAMS}
    for stream, key in STREAMS.items():
        folder = RunFolder(ctx.landing, SOURCE, run_id).stream_dir(stream)
        for table in iter_raw_tables(folder):
            out[stream].extend(zip(table.column(key).to_pylist(), table.column("updatedAt").to_pylist(), strict=True))
    return out


def quarantined(ctx: HubContext) -> list[tuple[str, str, list[str]]]:
    with transaction(ctx.db_url) as session:
        rows = session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == SOURCE))
        return [(q.stream, q.source_key, [r["check"] for r in q.reasons]) for q in rows]


def copy_county_api(county: Path, dest: Path) -> Path:
    """A private copy of the county's public-security files, for tests that rewrite them."""
    target = dest / "public-security"
    shutil.copytree(county / "public-security", target)
    return target


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


class Harness:
    """The helpers above, handed to test modules as one object."""

    TOKEN, TOKEN_ENV, SOURCE = TOKEN, TOKEN_ENV, SOURCE
    write_config = staticmethod(write_config)
    server_view = staticmethod(server_view)
    stored = staticmethod(stored)
    quarantined = staticmethod(quarantined)
    emitted = staticmethod(emitted)
    copy_county_api = staticmethod(copy_county_api)
    read_jsonl = staticmethod(read_jsonl)
    write_jsonl = staticmethod(write_jsonl)


@pytest.fixture(scope="session")
def ps() -> type[Harness]:
    return Harness

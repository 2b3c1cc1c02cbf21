"""The connector conformance suite, shipped for plugin authors (Airbyte CDK's idea).

Subclass ``ConnectorConformance`` in a plugin's tests and provide two fixtures:

- ``conformance`` -> ``ConformanceSetup``: a hub.yaml naming the source, its source name,
  extra environment (tokens), and optionally ``advance()`` applying the next day's changes.
- ``broken_conformance`` -> ``ConformanceSetup`` whose source is unreachable or misconfigured.

Every test runs the real stages against a real store; the crash tests run ``hub sync`` in a
subprocess and SIGKILL it (``HUB_FAULT``) mid-extract and inside the load transaction.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import Run, SourceRecord
from hub.db.session import transaction
from hub.errors import HubError
from hub.plugins import get_host
from hub.stages import sync

TEST_SECRET = "conformance-suite-secret"


@dataclass
class ConformanceSetup:
    config_path: Path
    source: str
    env: dict[str, str] = field(default_factory=dict)
    advance: Callable[[], bool] | None = None


def context_for(setup: ConformanceSetup, workdir: Path, tag: str) -> tuple[HubContext, dict[str, str]]:
    """A context (and matching subprocess env) with its own store and landing zone under ``workdir``."""
    env = {**setup.env, "HUB_SECRET_KEY": TEST_SECRET, "HUB_DATABASE": f"sqlite:///{workdir / tag}.db",
           "HUB_LANDING": str(workdir / f"landing-{tag}")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ctx = HubContext.from_config(setup.config_path, host=get_host())
        _ = ctx.vault  # bind the secret now, while the environment holds it
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ctx, env


def stored_records(ctx: HubContext, source: str) -> dict[tuple[str, str], tuple[str, bool]]:
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(SourceRecord.stream, SourceRecord.source_key, SourceRecord.content_hash,
                                      SourceRecord.deleted).where(SourceRecord.source == source))
        return {(s, k): (h, d) for s, k, h, d in rows}


def run_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    full_env.pop("HUB_FAULT", None)
    full_env.update({k: v for k, v in env.items() if k == "HUB_FAULT"})
    return subprocess.run([sys.executable, "-m", "hub", *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)


class ConnectorConformance:
    """Tests every connector must pass. Override a test only with a stronger one."""

    def _ctx(self, setup: ConformanceSetup, tmp_path: Path, tag: str = "store") -> tuple[HubContext, dict[str, str]]:
        os.environ.update(setup.env)
        return context_for(setup, tmp_path, tag)

    def test_check_passes(self, conformance: ConformanceSetup, tmp_path: Path) -> None:
        ctx, _ = self._ctx(conformance, tmp_path)
        spec, connector = ctx.source(conformance.source)
        connector.check(spec)

    def test_check_fails_cleanly(self, broken_conformance: ConformanceSetup, tmp_path: Path) -> None:
        ctx, env = self._ctx(broken_conformance, tmp_path)
        spec, connector = ctx.source(broken_conformance.source)
        with pytest.raises(HubError) as err:
            connector.check(spec)
        assert "\n" not in str(err.value) and str(err.value)
        proc = run_cli(["--config", str(broken_conformance.config_path), "check", broken_conformance.source], env)
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr and proc.stderr.strip().startswith("error:"), proc.stderr

    def test_discover_streams_have_keys_and_contracts(self, conformance: ConformanceSetup, tmp_path: Path) -> None:
        ctx, _ = self._ctx(conformance, tmp_path)
        spec, connector = ctx.source(conformance.source)
        streams = connector.streams(spec)
        assert streams, "a connector must offer at least one stream"
        for stream in streams:
            assert stream.name and stream.primary_key
            contract = ctx.contracts.get(connector.name, stream.name)
            assert contract.primary_key, f"contract of {stream.name} declares no primary key"

    def test_full_read_balances(self, conformance: ConformanceSetup, tmp_path: Path) -> None:
        ctx, _ = self._ctx(conformance, tmp_path)
        info = sync(ctx, conformance.source, resolve=False)
        assert info.extract.rows > 0, "a full read of the fixture source read nothing"
        for stream, counts in info.load.streams.items():
            assert counts["read"] == counts["loaded"] + counts["unchanged"] + counts["quarantined"] + counts["tombstoned"], stream
        assert stored_records(ctx, conformance.source)

    def test_incremental_reads_only_changes(self, conformance: ConformanceSetup, tmp_path: Path) -> None:
        ctx, _ = self._ctx(conformance, tmp_path)
        sync(ctx, conformance.source, resolve=False)
        again = sync(ctx, conformance.source, resolve=False)
        assert again.extract.rows == 0, "a second sync with no source change read rows again"
        if conformance.advance is not None and conformance.advance():
            later = sync(ctx, conformance.source, resolve=False)
            assert later.extract.rows > 0, "a source change was not picked up"
            assert later.load.changed > 0

    @pytest.mark.parametrize("fault", ["extract:1", "load"])
    def test_crash_then_rerun_equals_uninterrupted(self, conformance: ConformanceSetup, tmp_path: Path,
                                                   fault: str) -> None:
        clean_ctx, _ = self._ctx(conformance, tmp_path, "clean")
        sync(clean_ctx, conformance.source, resolve=False)
        crash_ctx, env = self._ctx(conformance, tmp_path, "crashed")
        args = ["--config", str(conformance.config_path), "sync", conformance.source, "--no-resolve"]
        killed = run_cli(args, {**env, "HUB_FAULT": fault})
        assert killed.returncode == -9, f"expected SIGKILL at {fault}, got {killed.returncode}: {killed.stderr[-500:]}"
        rerun = run_cli(args, env)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert stored_records(crash_ctx, conformance.source) == stored_records(clean_ctx, conformance.source)
        with transaction(crash_ctx.db_url) as session:
            states = [r.state for r in session.scalars(select(Run))]
        assert "success" in states

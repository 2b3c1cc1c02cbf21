"""The shared conformance suite and the CLI, against the real simulated server over loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.testing import ConformanceSetup, ConnectorConformance, context_for


@pytest.fixture
def conformance(serve, ps, tmp_path: Path) -> ConformanceSetup:  # type: ignore[no-untyped-def]
    url, handle = serve()
    max_day = handle.httpd.store.max_day

    def advance() -> bool:
        """The server serves the next day's changes (the API's world moves on)."""
        if handle.day >= max_day:
            return False
        handle.set_day(handle.day + 1)
        return True

    return ConformanceSetup(config_path=ps.write_config(tmp_path, url, page_size=50), source=ps.SOURCE,
                            env={ps.TOKEN_ENV: ps.TOKEN}, advance=advance)


@pytest.fixture
def broken_conformance(serve, ps, tmp_path: Path) -> ConformanceSetup:  # type: ignore[no-untyped-def]
    url, _ = serve()
    return ConformanceSetup(config_path=ps.write_config(tmp_path, url), source=ps.SOURCE,
                            env={ps.TOKEN_ENV: "not-the-token"})


class TestPublicSecurityConformance(ConnectorConformance):
    pass


def hub_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=120, check=False)


def test_cli_discover_and_sync_never_show_the_token(serve, ps, tmp_path: Path, county: Path) -> None:  # type: ignore[no-untyped-def]
    url, _ = serve(day=2)
    config = ps.write_config(tmp_path, url)
    env = {ps.TOKEN_ENV: ps.TOKEN, "HUB_DATABASE": f"sqlite:///{tmp_path / 'hub.db'}",
           "HUB_LANDING": str(tmp_path / "landing"), "HUB_SECRET_KEY": "conformance-suite-secret"}
    discover = hub_cli("--config", str(config), "discover", ps.SOURCE, env=env)
    assert discover.returncode == 0, discover.stderr
    for field in ("floating-persons", "special-persons", "incidents", "idNo", "incidentNo", "updatedAt"):
        assert field in discover.stdout, field
    sync = hub_cli("--config", str(config), "sync", ps.SOURCE, "--no-resolve", env=env)
    assert sync.returncode == 0, sync.stderr
    for proc in (discover, sync):
        assert ps.TOKEN not in proc.stdout + proc.stderr
    # read back the store the CLI wrote (context_for names it <workdir>/<tag>.db)
    ctx, _ = context_for(ConformanceSetup(config_path=config, source=ps.SOURCE, env={ps.TOKEN_ENV: ps.TOKEN}),
                         tmp_path, "hub")
    loaded = ps.stored(ctx)
    view = ps.server_view(county, 2)
    assert any(loaded.values()), "nothing was loaded"
    for stream, records in view.items():
        assert set(loaded[stream]) <= set(records), stream
        bad = {k for s, k, _ in ps.quarantined(ctx) if s == stream}
        assert set(loaded[stream]) | bad == set(records), f"{stream}: a record was neither loaded nor quarantined"
    secrets = {r["idNo"] for r in view["floating-persons"].values()}
    secrets |= {r["phone"] for r in view["floating-persons"].values() if r["phone"]}
    blob = repr(loaded)
    assert not any(s and s in blob for s in secrets), "a citizen ID or phone is stored in clear"
    first = loaded["floating-persons"][min(loaded["floating-persons"])]
    assert {"citizen_id_bidx", "citizen_id_enc", "phone_bidx", "name", "gender", "updated_at", "employer"} <= set(first)

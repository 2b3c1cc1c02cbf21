"""The shared conformance suite and the CLI, against the real simulated server over loopback."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db.models import QuarantinedRow
from hub.db.session import transaction
from hub.stages import sync
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


def test_cli_sync_stores_no_clear_ids_and_never_shows_the_token(serve, ps, tmp_path: Path, county: Path) -> None:  # type: ignore[no-untyped-def]
    url, _ = serve(day=2)
    config = ps.write_config(tmp_path, url)
    env = {ps.TOKEN_ENV: ps.TOKEN, "HUB_DATABASE": f"sqlite:///{tmp_path / 'hub.db'}",
           "HUB_LANDING": str(tmp_path / "landing"), "HUB_SECRET_KEY": "conformance-suite-secret"}
    sync = hub_cli("--config", str(config), "sync", ps.SOURCE, "--no-resolve", env=env)
    assert sync.returncode == 0, sync.stderr
    assert ps.TOKEN not in sync.stdout + sync.stderr
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


def test_quarantine_matches_the_county_truth(serve, ps, county: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With the grid registry loaded, exactly the records truth/ marks must-quarantine are quarantined,
    each for the truth's reason (unknown grid codes, bad IDs), and every other record is loaded."""
    url, _ = serve(day=2)
    monkeypatch.setenv(ps.TOKEN_ENV, ps.TOKEN)
    config = tmp_path / "hub.yaml"
    config.write_text(f"sources:\n  grid-registry: {{connector: grid-registry, path: {county / 'grids.geojson'}}}\n"
                      f"  {ps.SOURCE}: {{connector: public-security, base_url: '{url}', token_env: {ps.TOKEN_ENV}}}\n",
                      "utf-8")
    ctx, _ = context_for(ConformanceSetup(config_path=config, source=ps.SOURCE, env={ps.TOKEN_ENV: ps.TOKEN}),
                         tmp_path, "store")
    sync(ctx, "grid-registry", resolve=False)
    sync(ctx, ps.SOURCE, resolve=False)
    with (county / "truth" / "quarantine.csv").open(encoding="utf-8") as f:
        truth = {(r["stream"], r["source_key"], r["reason"]) for r in csv.DictReader(f) if r["source"] == ps.SOURCE}
    assert truth, "the fixture county has no public-security faults to quarantine"
    got = {(stream, key, reason) for stream, key, reasons in ps.quarantined(ctx) for reason in reasons}
    assert got == truth
    loaded = ps.stored(ctx)
    view = ps.server_view(county, 2)
    # an unknown grid code is a bad field, not a bad record: the person loads without it (a field entry);
    # a record is refused whole only for its own ID
    with transaction(ctx.db_url) as session:
        scopes = {(q.stream, q.source_key): q.scope for q in session.scalars(
            select(QuarantinedRow).where(QuarantinedRow.source == ps.SOURCE))}
    assert {k: scopes[k[:2]] for k in truth} == {k: "field" if k[2] == "grid_code_unknown" else "record" for k in truth}
    for stream, records in view.items():
        refused = {k for (s, k), scope in scopes.items() if s == stream and scope == "record"}
        assert set(loaded[stream]) == set(records) - refused, stream

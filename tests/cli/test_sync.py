"""Issue 18 items 1, 2 and 8: `hub sync` isolates failures, checks what it can first, and says what happened."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.conftest import Hub, runs_json


def test_sync_all_isolates_a_failing_source_and_resolves_what_loaded(county: Path, hub: Hub) -> None:
    # a corrupt civil-affairs workbook; public-security has no token: neither may stop the others
    workbook = sorted((county / "civil-affairs").glob("*.xlsx"))[-1]
    workbook.write_bytes(b"PK\x03\x04 this is not a workbook any more")
    proc = hub(county, "sync", "--all")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    by_source = {r["source"]: r for r in runs_json(county)}
    for ok in ("grid-registry", "population", "fire-safety", "dispute-mediation"):
        assert by_source[ok]["state"] == "success", by_source[ok]
    assert by_source["civil-affairs"]["state"] == "failed"
    assert "public-security" not in by_source  # stopped by the preflight: no run at all
    summary = proc.stdout[proc.stdout.index("sync summary"):]
    lines = {line.split()[0]: line for line in summary.splitlines()[2:] if line.strip()}
    assert lines["fire-safety"].split()[1] == "ok"
    assert lines["civil-affairs"].split()[1] == "FAILED" and workbook.name in lines["civil-affairs"]
    assert "PUBLIC_SECURITY_TOKEN" in lines["public-security"] and "FAILED" in lines["public-security"]
    assert "resolve entities" in proc.stdout  # resolve ran over what loaded
    assert "error: sync failed for civil-affairs, public-security" in proc.stderr


def test_unknown_source_writes_no_run(county: Path, hub: Hub) -> None:
    proc = hub(county, "sync", "nosuch")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "error: unknown source 'nosuch' in config (configured: civil-affairs, dispute-mediation, fire-safety, "
        "grid-registry, population, public-security)"]
    assert runs_json(county) == []


def test_preflight_stops_missing_paths_and_unknown_connectors_before_the_first_source(county: Path, hub: Hub) -> None:
    config = county / "hub.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("path: fire-safety}", "path: fire-safty}")
    text = text.replace("{connector: dispute-mediation,", "{connector: dispute-mediaton,")
    config.write_text(text, encoding="utf-8")
    proc = hub(county, "sync", "--all", "--no-resolve", env={"PUBLIC_SECURITY_TOKEN": "x"})
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    assert f"not syncing fire-safety: path {county / 'fire-safty'} does not exist" in err
    assert any(line.startswith("not syncing dispute-mediation: unknown connector 'dispute-mediaton'") for line in err)
    states = {r["source"]: r["state"] for r in runs_json(county)}
    assert "fire-safety" not in states and "dispute-mediation" not in states
    assert states["grid-registry"] == "success"
    # a single source stops before any run is written, with the one-line reason
    alone = hub(county, "sync", "fire-safety")
    assert alone.returncode != 0 and alone.stderr.strip() == f"error: path {county / 'fire-safty'} does not exist"


def test_sync_says_how_many_rows_were_quarantined_and_where_to_see_them(county: Path, hub: Hub) -> None:
    proc = hub(county, "sync", "population", "--no-resolve")
    assert proc.returncode == 0, proc.stderr
    quarantined = sum(int(m) for m in re.findall(r"quarantined (\d+)", proc.stdout))
    assert quarantined > 0
    assert f"{quarantined} row(s) quarantined: see `hub quarantine list --source population`" in proc.stdout


def test_resolve_summary_is_printed_once(county: Path, hub: Hub) -> None:
    proc = hub(county, "sync", "grid-registry")
    assert proc.returncode == 0, proc.stderr
    both = proc.stdout + proc.stderr
    assert both.count("resolve grids") == 1, both

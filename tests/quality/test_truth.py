"""Done when: on synth data, every must-quarantine record of truth/quarantine.csv is quarantined with
its reason, and no other record is, on every source (the grid registry is loaded first, so
grid codes are checked against it)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import QuarantinedRow, Run
from hub.db.session import transaction
from hub.stages import sync
from hub.stages.load import stored_source_key

from .conftest import make_context, write_config

# All five department connectors are installed, so all five are checked, in both directions.
SOURCES = ["population", "civil-affairs", "fire-safety", "public-security", "dispute-mediation"]


@pytest.fixture(scope="module")
def store(county: Path, ps_url: str, tmp_path_factory: pytest.TempPathFactory) -> HubContext:
    ctx = make_context(write_config(tmp_path_factory.mktemp("truth"), county, ps_url=ps_url))
    sync(ctx, "grid-registry", resolve=False)
    return ctx


def _truth(county: Path, source: str) -> dict[tuple[str, str], str]:
    with (county / "truth" / "quarantine.csv").open(encoding="utf-8") as fh:
        return {(r["stream"], r["source_key"]): r["reason"] for r in csv.DictReader(fh) if r["source"] == source}


@pytest.mark.parametrize("source", SOURCES)
def test_quarantine_matches_truth(store: HubContext, county: Path, source: str) -> None:
    info = sync(store, source, resolve=False)
    for stream, c in info.load.streams.items():
        assert c["read"] == c["loaded"] + c["unchanged"] + c["quarantined"] + c["tombstoned"], stream
    with transaction(store.db_url) as session:
        got = {(q.stream, q.source_key): [r["check"] for r in q.reasons if r.get("severity", "error") == "error"]
               for q in session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == source))}
        assert session.get(Run, info.run_id).state == "success"
    expected = {(stream, stored_source_key(store, source, stream, key)): reason
                for (stream, key), reason in _truth(county, source).items()}
    missing = {k: (reason, got.get(k)) for k, reason in expected.items() if reason not in (got.get(k) or [])}
    extra = {k: v for k, v in got.items() if k not in expected}
    assert not missing, f"must-quarantine records not quarantined with their reason (expected, got): {missing}"
    assert not extra, f"records quarantined that truth says are fine: {extra}"

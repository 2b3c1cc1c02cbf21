"""The small synthetic county end to end: every installed connector synced, linked, placed, scored.

Sources covered: whichever of grid-registry, population, civil-affairs, fire-safety, public-security
(served over loopback by the synth's server) and dispute-mediation have their connector installed
(all six at the time of writing). Needs the entity-linking step (hub.resolve.entities).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db.models import ChangeFeed, Event, SourceRecord
from hub.db.session import transaction
from hub.resolve.events import project_events
from hub.resolve.places import place_entities
from hub.resolve.tags import care_list, derive_tags

TODAY = dt.date(2026, 11, 5)


def _helpers() -> Any:
    path = Path(__file__).resolve().parents[2] / "bench" / "places_county.py"
    spec = importlib.util.spec_from_file_location("places_county", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path, dict[str, dict[str, int]]]]:
    pytest.importorskip("hub.resolve.entities", reason="the entity-linking step is not installed")
    helpers = _helpers()
    out = tmp_path_factory.mktemp("places-county")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", "places-county-secret")
        ctx, stop, sources = helpers.build_county(out, residents=1500, days=2)
        try:
            _ = ctx.vault
            helpers.sync_and_link(ctx, sources)
            counts = {"places": place_entities(ctx), "events": project_events(ctx, TODAY),
                      "tags": derive_tags(ctx, TODAY)}
            yield ctx, out, counts
        finally:
            stop()


def test_grid_assignment_matches_the_truth(county) -> None:  # type: ignore[no-untyped-def]
    ctx, out, _ = county
    report = _helpers().grid_accuracy(ctx, out)
    assert report["all"]["accuracy"] >= 0.99, report
    for etype in ("person", "household", "organization"):
        assert report[etype]["reached"] >= 0.95 * report[etype]["truth"], report[etype]
        assert report[etype]["accuracy"] >= 0.98, report[etype]


def test_each_record_places_its_entity_where_it_says(county) -> None:  # type: ignore[no-untyped-def]
    """Registry and roster records: where the person is registered; floating-persons: where they live."""
    ctx, out, _ = county
    report = _helpers().record_accuracy(ctx, out)
    assert report["all"]["group_accuracy"] >= 0.99, report["all"]
    assert report["all"]["village_accuracy"] >= 0.99, report["all"]
    # people of the county registered in one village and living in another are in both, each as such
    separated = report["separated"]
    assert separated["held"] >= 20 and separated["group_accuracy"] >= 0.98, separated
    assert report["floating-persons"]["group_accuracy"] >= 0.98, report["floating-persons"]


def test_every_event_record_becomes_an_event(county) -> None:  # type: ignore[no-untyped-def]
    ctx, _, counts = county
    with transaction(ctx.db_url) as s:
        loaded = dict(s.execute(select(SourceRecord.stream, func.count()).where(
            SourceRecord.stream.in_(["cases", "incidents", "hazards"]), SourceRecord.deleted.is_(False))
            .group_by(SourceRecord.stream)).tuples().all())
        by_kind = dict(s.execute(select(Event.kind, func.count()).group_by(Event.kind)).tuples().all())
        placed = s.scalar(select(func.count()).select_from(Event).where(Event.grid_code.is_not(None)))
        sensitive = s.scalar(select(func.count()).select_from(Event).where(Event.sensitive.is_(True)))
    assert by_kind == {"dispute": loaded["cases"], "incident": loaded["incidents"], "hazard": loaded["hazards"]}
    assert sensitive == loaded["incidents"]
    assert placed >= 0.98 * sum(by_kind.values())
    assert counts["events"]["parties_written"] >= 2 * loaded["cases"]


def test_tags_and_care_lists_exist(county) -> None:  # type: ignore[no-untyped-def]
    ctx, _, counts = county
    tags = counts["tags"]
    assert tags["tag_elderly"] > tags["tag_elderly_alone"] > 0
    assert tags["tag_min_allowance"] > 0 and tags["tag_disabled"] > 0 and tags["tag_floating"] > 0
    everyone = care_list(ctx, "130203101000", everyone=True)
    assert len(everyone) == tags["tag_elderly_alone"] - sum(1 for r in everyone if r["grid_code"] is None)


def test_second_run_writes_nothing(county) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _ = county
    with transaction(ctx.db_url) as s:
        feed = s.scalar(select(func.count()).select_from(ChangeFeed))
    assert place_entities(ctx) == project_events(ctx, TODAY) == derive_tags(ctx, TODAY) == {"unchanged": 1}
    again = {**place_entities(ctx, full=True), **project_events(ctx, TODAY, full=True),
             **derive_tags(ctx, TODAY, full=True)}
    assert not any(v for k, v in again.items() if k.endswith(("_created", "_updated", "_written", "_added")))
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ChangeFeed)) == feed

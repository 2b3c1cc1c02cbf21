"""Accuracy on the synthetic county's truth, idempotence, golden records and the crosswalk."""

from __future__ import annotations

import csv

from county import loaded_addresses, pairwise, predicted, quarantined, truth_clusters
from sqlalchemy import func, select, update

from hub.db.models import ChangeFeed, EntityLink, Person, SourceRecord, SpecialStatus, WelfareEnrolment
from hub.db.session import transaction
from hub.resolve.crosswalk import export_links
from hub.resolve.entities import resolve_entities


def test_every_installed_source_was_synced(county) -> None:  # type: ignore[no-untyped-def]
    _, _, sources, counts = county
    assert {"population", "civil-affairs", "fire-safety", "public-security", "dispute-mediation"} <= set(sources)
    assert counts["person_created"] > 1000 and counts["organization_created"] > 10


def test_persons_and_organisations_match_the_truth(county) -> None:  # type: ignore[no-untyped-def]
    out, ctx, _, _ = county
    loaded, excluded = loaded_addresses(ctx), quarantined(out, ctx)
    persons = pairwise(truth_clusters(out, "person", ctx), predicted(ctx, "person"), loaded, excluded)
    orgs = pairwise(truth_clusters(out, "organization", ctx), predicted(ctx, "organization"), loaded, excluded)
    assert persons["true_pairs"] > 100 and orgs["true_pairs"] > 50
    assert persons["precision"] >= 0.995, persons
    assert persons["recall"] >= 0.99, persons
    assert orgs["precision"] >= 0.99 and orgs["recall"] >= 0.99, orgs


def test_second_run_changes_no_id_and_writes_nothing(county) -> None:  # type: ignore[no-untyped-def]
    _, ctx, _, _ = county
    before = predicted(ctx, "person")
    with transaction(ctx.db_url) as s:
        feed = s.scalar(select(func.count()).select_from(ChangeFeed))
    counts = resolve_entities(ctx)
    assert counts.get("links_written", 0) == 0 and counts.get("changes", 0) == 0
    assert predicted(ctx, "person") == before
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ChangeFeed)) == feed


def test_records_read_again_unchanged_resolve_to_the_same_rows(county) -> None:  # type: ignore[no-untyped-def]
    """An incremental run over a seventh of the records (as if re-delivered unchanged) must agree with
    the full run: a unit re-read for its organisation may not strip its responsible person's golden record."""
    _, ctx, _, _ = county
    before = {etype: predicted(ctx, etype) for etype in ("person", "organization", "household")}
    with transaction(ctx.db_url) as s:
        feed = s.scalar(select(func.count()).select_from(ChangeFeed))
        marked = s.execute(update(SourceRecord).where(SourceRecord.id % 7 == 3).values(  # same time: same provenance
            last_run_id="re-delivered", updated_at=SourceRecord.updated_at)).rowcount
    counts = resolve_entities(ctx)
    assert marked > counts["records_changed"] > 100  # grids, inspections, hazards and cases are not linked here
    assert counts["mentions"] < 0.5 * len(before["person"])  # incremental, not a full run
    assert {k: v for k, v in counts.items() if k.endswith(("_created", "_updated", "_merged")) and v} == {}
    assert counts["changes"] == 0
    assert {etype: predicted(ctx, etype) for etype in before} == before
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ChangeFeed)) == feed


def test_golden_records_keep_provenance_and_programmes(county) -> None:  # type: ignore[no-untyped-def]
    _, ctx, _, _ = county
    with transaction(ctx.db_url) as s:
        welfare = s.scalars(select(WelfareEnrolment)).all()
        assert {w.programme for w in welfare} >= {"低保对象", "高龄老人", "残疾人"}
        assert {w.status for w in welfare} >= {"active", "left"}
        person = s.get(Person, welfare[0].person_id)
        prov = person.provenance
        assert prov["name"]["source"] == "population" and prov["name"]["rule"] == "precedence:population"
        assert set(prov["name"]) == {"source", "stream", "source_key", "rule", "at"}
        phones = [p.provenance["phone"] for p in s.scalars(select(Person).where(Person.phone_bidx.is_not(None)))]
        assert phones and all(p["rule"] == "most_recent" for p in phones)
        floating = s.scalars(select(Person).where(Person.floating.is_(True))).all()
        assert floating and all(p.provenance["floating"]["stream"] == "floating-persons" for p in floating)
        assert s.scalar(select(func.count()).select_from(SpecialStatus)) > 0
        assert s.scalar(select(func.count()).select_from(Person).where(Person.status == "deceased")) >= 0
        # no clear citizen ID anywhere in a golden record
        assert all(len(p.citizen_id_bidx or "") in (0, 32) for p in s.scalars(select(Person)))


def test_crosswalk_export_lists_every_link_with_legacy_keys(county, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, ctx, _, _ = county
    path = tmp_path / "links.csv"
    n = export_links(ctx, path)
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["source", "stream", "source_key", "entity_type", "entity_id"]
    with transaction(ctx.db_url) as s:
        assert n == len(rows) == s.scalar(select(func.count()).select_from(EntityLink))
    keys = {(r["source"], r["stream"]) for r in rows}
    assert ("dispute-mediation", "cases") in keys and ("dispute-mediation", "case-parties") not in keys
    assert any(r["source_key"].endswith("#责任人") and r["entity_type"] == "person" for r in rows)
    assert any(r["source_key"].endswith("#employer") and r["entity_type"] == "organization" for r in rows)
    assert {r["entity_type"] for r in rows} <= {"person", "household", "building", "organization", "event"}

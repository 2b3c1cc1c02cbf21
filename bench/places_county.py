"""A synthetic county synced through every installed connector, resolved, and its grids scored.

Shared by tests/resolve_places (small scale) and bench/bench_places.py (county scale).
"""

from __future__ import annotations

import csv
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import EntityLink, Household, Organization, Person
from hub.db.session import transaction
from hub.stages.load import stored_source_key

TOKEN = "places-bench-token"
MODELS = {"person": Person, "household": Household, "organization": Organization}


def build_county(out: Path, residents: int, days: int = 2, seed: int = 7, townships: int = 1
                 ) -> tuple[HubContext, Any, list[str]]:
    """Generate, serve public security over loopback; (ctx, stop handle, sources with an installed connector)."""
    from hub.synth import generate
    from hub.synth.server import start_in_thread

    generate(out, seed=seed, residents=residents, days=days, townships=townships)
    url, handle = start_in_thread(out, TOKEN, rate_limit_per_s=1e6, fail_rate=0.0)
    cfg = out / "hub.yaml"
    cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                   encoding="utf-8")
    os.environ["PUBLIC_SECURITY_TOKEN"] = TOKEN
    ctx = HubContext.from_config(cfg)
    installed = set(ctx.host.connectors())
    return ctx, handle, [n for n, s in ctx.config.sources.items() if s.connector in installed]


def sync_and_link(ctx: HubContext, sources: list[str]) -> dict[str, float]:
    """Every source synced without resolve, then grid projection and entity linking; seconds per step."""
    from hub.resolve.grids import project_grids
    from hub.stages.sync import sync

    times: dict[str, float] = {}
    t = time.perf_counter()
    for name in sources:
        sync(ctx, name, resolve=False)
    times["sync"] = time.perf_counter() - t
    t = time.perf_counter()
    project_grids(ctx)
    try:
        from hub.resolve.entities import resolve_entities
    except ImportError:  # the linking step not installed yet: nothing to place
        resolve_entities = None
    if resolve_entities is not None:
        resolve_entities(ctx)
    times["link"] = time.perf_counter() - t
    return times


def grid_accuracy(ctx: HubContext, out: Path) -> dict[str, dict[str, Any]]:
    """Per entity type: truth entities reached through the crosswalk, and how many sit in their true grid."""
    truth_dir = out / "truth"
    with (truth_dir / "grid_assignment.csv").open(encoding="utf-8") as f:
        true_grid = {(r["entity_type"], r["entity_uid"]): r["grid_code"] for r in csv.DictReader(f)}
    with (truth_dir / "entities.csv").open(encoding="utf-8") as f:
        truth = [(r["source"], r["stream"], stored_source_key(ctx, r["source"], r["stream"], r["source_key"]),
                  r["entity_type"], r["entity_uid"]) for r in csv.DictReader(f)]
    with transaction(ctx.db_url) as s:
        links = {(a, b, c, t): e for a, b, c, t, e in s.execute(select(
            EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type, EntityLink.entity_id))}
        ours = {t: dict(s.execute(select(m.id, m.grid_code)).tuples().all()) for t, m in MODELS.items()}
    votes: dict[tuple[str, str], Counter[str]] = {}
    for source, stream, key, etype, uid in truth:
        eid = links.get((source, stream, key, etype))
        if eid is None and stream == "cases":
            eid = links.get((source, "case-parties", key, etype))
        if eid is not None:
            votes.setdefault((etype, uid), Counter())[eid] += 1
    report: dict[str, dict[str, Any]] = {}
    for etype in MODELS:
        uids = {u for (t, u) in true_grid if t == etype}
        reached = [(u, votes[(etype, u)].most_common(1)[0][0]) for u in sorted(uids) if (etype, u) in votes]
        grids = [ours[etype].get(eid) for _, eid in reached]
        correct = sum(g == true_grid[(etype, u)] for (u, _), g in zip(reached, grids, strict=True))
        village = sum(g is not None and len(g) == 12 and true_grid[(etype, u)].startswith(g)
                      for (u, _), g in zip(reached, grids, strict=True))
        report[etype] = {"truth": len(uids), "reached": len(reached), "correct": correct,
                         "village_only": village, "unassigned": sum(g is None for g in grids),
                         "accuracy": correct / len(reached) if reached else 1.0}
    total = sum(r["reached"] for r in report.values())
    report["all"] = {"reached": total, "correct": sum(r["correct"] for r in report.values()),
                     "accuracy": sum(r["correct"] for r in report.values()) / total if total else 1.0}
    return report


def record_accuracy(ctx: HubContext, out: Path) -> dict[str, dict[str, Any]]:
    """Per record that says where its entity is (truth/record_places.csv): is the entity there?

    A record of the registry or a roster states where the person is registered: scored against the
    person's ``registered_grid_code`` (their ``grid_code`` when they have none); a floating-persons
    record states where they live: scored against ``grid_code``. Households and units: ``grid_code``.
    ``group`` is the exact level-3 grid, ``village`` its first 12 digits. Accuracies are over the
    records the hub holds or should hold (``held``: linked, or not quarantined by the truth; a record
    whose ID fails its check is rightly on no ledger); a held record the hub did not link counts as
    unplaced; ``_all`` accuracies count every record. Rows per stream, "separated" (records of people registered in one
    village and living in another), and "all".
    """
    with (out / "truth" / "record_places.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with (out / "truth" / "quarantine.csv").open(encoding="utf-8") as f:
        quarantined = {(r["source"], r["stream"], r["source_key"]) for r in csv.DictReader(f)}
    separated = {r["entity_uid"] for r in rows if r["says"] == "residence"} & {
        r["entity_uid"] for r in rows if r["says"] == "registered" and r["stream"] == "persons"}
    with transaction(ctx.db_url) as s:
        links = {(a, b, c, t): e for a, b, c, t, e in s.execute(select(
            EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type, EntityLink.entity_id))}
        lives = {t: dict(s.execute(select(m.id, m.grid_code)).tuples().all()) for t, m in MODELS.items()}
        registered = dict(s.execute(select(Person.id, Person.registered_grid_code)).tuples().all())
    report: dict[str, Counter[str]] = {}
    for r in rows:
        key = stored_source_key(ctx, r["source"], r["stream"], r["source_key"])
        eid = links.get((r["source"], r["stream"], key, r["entity_type"]))
        grid = None
        if eid is not None:
            grid = lives[r["entity_type"]].get(eid)
            if r["says"] == "registered":
                grid = registered.get(eid) or grid
        truth = r["grid_code"]
        for row in (r["stream"], "all", *(["separated"] if r["entity_uid"] in separated and r["entity_type"] == "person"
                                           else [])):
            c = report.setdefault(row, Counter())
            c["records"] += 1
            held = eid is not None or (r["source"], r["stream"], r["source_key"]) not in quarantined
            c["held"] += held
            c["linked"] += eid is not None
            c["group"] += held and grid == truth
            c["village"] += held and grid is not None and grid[:12] == truth[:12]
    return {row: {**c, "group_accuracy": c["group"] / max(1, c["held"]),
                  "village_accuracy": c["village"] / max(1, c["held"]),
                  "group_accuracy_all": c["group"] / c["records"], "village_accuracy_all": c["village"] / c["records"]}
            for row, c in sorted(report.items(), key=lambda kv: (kv[0] in ("all", "separated"), kv[0]))}

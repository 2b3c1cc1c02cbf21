"""A synthetic county synced through every installed connector, and pairwise scoring against truth.

Shared by the resolve tests and bench/bench_resolve.py.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections import Counter
from math import comb
from pathlib import Path

from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import EntityLink, SourceRecord
from hub.db.session import transaction
from hub.stages.load import stored_source_key
from hub.stages.sync import sync

TOKEN = "resolve-test-token"


def build_county(out: Path, residents: int, days: int = 2, seed: int = 7, townships: int = 1):  # type: ignore[no-untyped-def]
    """Generate, then serve public security over loopback; returns (ctx, stop, synced sources)."""
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
    synced = [name for name, s in ctx.config.sources.items() if s.connector in installed]
    return ctx, handle, synced


def sync_all(ctx: HubContext, sources: list[str]) -> None:
    for name in sources:
        sync(ctx, name, resolve=False)


def truth_clusters(out: Path, etype: str, ctx: HubContext) -> dict[tuple[str, str, str], str]:
    """Truth keyed as the store keys records (a key that is personal data is stored as a token)."""
    with (out / "truth" / "entities.csv").open(encoding="utf-8") as f:
        return {(r["source"], r["stream"], stored_source_key(ctx, r["source"], r["stream"], r["source_key"])):
                r["entity_uid"] for r in csv.DictReader(f) if r["entity_type"] == etype}


def loaded_addresses(ctx: HubContext) -> set[tuple[str, str, str]]:
    """Every address a loaded record can be linked under (record keys and their #role mentions)."""
    with transaction(ctx.db_url) as s:
        rows = s.execute(select(SourceRecord.source, SourceRecord.stream, SourceRecord.source_key)).tuples().all()
    out = set()
    for source, stream, key in rows:
        stream = "cases" if stream == "case-parties" else stream
        out.update({(source, stream, key), (source, stream, f"{key}#责任人"), (source, stream, f"{key}#employer")})
    return out


def predicted(ctx: HubContext, etype: str) -> dict[tuple[str, str, str], str]:
    with transaction(ctx.db_url) as s:
        return {(a, b, c): e for a, b, c, e in s.execute(
            select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id)
            .where(EntityLink.entity_type == etype)).tuples()}


def quarantined(out: Path, ctx: HubContext) -> set[tuple[str, str, str]]:
    with (out / "truth" / "quarantine.csv").open(encoding="utf-8") as f:
        return {(r["source"], r["stream"], stored_source_key(ctx, r["source"], r["stream"], r["source_key"]))
                for r in csv.DictReader(f)}


def pairwise(truth: dict, pred: dict, loaded: set, excluded: set = frozenset()) -> dict[str, float]:
    """Pairwise precision/recall over truth records that were loaded (quarantined rows excluded)."""
    keys = [k for k in truth if k in loaded and k not in excluded]
    cells = Counter((pred.get(k, f"unlinked:{k}"), truth[k]) for k in keys)
    tp = sum(comb(n, 2) for n in cells.values())
    pp = sum(comb(n, 2) for n in Counter(pred.get(k, f"unlinked:{k}") for k in keys).values())
    tpairs = sum(comb(n, 2) for n in Counter(truth[k] for k in keys).values())
    return {"records": len(keys), "linked": sum(k in pred for k in keys), "true_pairs": tpairs,
            "predicted_pairs": pp, "precision": tp / pp if pp else 1.0, "recall": tp / tpairs if tpairs else 1.0}


def stash_days(out: Path, stash: Path, first: int | None = None) -> list[tuple[Path, Path]]:
    """Move away the files first delivered on day ``first`` (default: the last day) or later, to be
    delivered later with :func:`deliver` (public security is served by day, not by file)."""
    plan = json.loads((out / "truth" / "days.json").read_text(encoding="utf-8"))
    first = plan["days"][-1]["day"] if first is None else first
    moved = []
    for day in plan["days"]:
        for source, info in day["sources"].items():
            for rel in info.get("files", []) if source != "public-security" else []:
                begins = min(d["day"] for d in plan["days"] if rel in d["sources"].get(source, {}).get("files", []))
                if begins >= first and (out / rel).exists():
                    (stash / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(out / rel), str(stash / rel))
                    moved.append((stash / rel, out / rel))
    return moved


def deliver(moved: list[tuple[Path, Path]]) -> None:
    for stash, back in moved:
        shutil.move(str(stash), str(back))

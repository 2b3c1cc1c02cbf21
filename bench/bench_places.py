"""Benchmark: grid assignment, event projection and tags on a synthetic county.

    .venv/bin/python bench/bench_places.py --residents 100000 [--townships 4] [--out /tmp/places-bench]

Generates the county, syncs every installed source (resolve off), projects grids and links
entities (the linking step's own cost is reported but is not this benchmark's subject), then times
place_entities, project_events, derive_tags and mark_overdue on the full store and again as a
no-change re-run; scores grid assignment against truth/grid_assignment.csv (per entity) and
truth/record_places.csv (per record: the entity in the group and the village the record says,
registration for registry and roster records, residence for floating-persons). Appends to
bench/results/places.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from places_county import build_county, grid_accuracy, record_accuracy, sync_and_link  # noqa: E402

from hub.events.overdue import mark_overdue  # noqa: E402
from hub.resolve.events import project_events  # noqa: E402
from hub.resolve.places import place_entities  # noqa: E402
from hub.resolve.tags import derive_tags  # noqa: E402

TODAY = dt.date(2026, 11, 5)
RESULTS = Path(__file__).resolve().parent / "results" / "places.md"


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--townships", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/places-bench"))
    args = ap.parse_args()
    os.environ.setdefault("HUB_SECRET_KEY", "places-bench-secret")
    shutil.rmtree(args.out, ignore_errors=True)
    t = time.perf_counter()
    ctx, stop, sources = build_county(args.out, args.residents, townships=args.townships)
    gen = time.perf_counter() - t
    try:
        pre = sync_and_link(ctx, sources)
        rows = {}
        for label in ("full", "re-run (no change)"):
            rows[label] = {
                "place_entities": timed(place_entities, ctx),
                "project_events": timed(project_events, ctx, TODAY),
                "derive_tags": timed(derive_tags, ctx, TODAY),
                "mark_overdue": timed(mark_overdue, ctx, TODAY),
            }
        score = grid_accuracy(ctx, args.out)
        per_record = record_accuracy(ctx, args.out)
    finally:
        stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    full = rows["full"]
    lines = [
        f"\n## {dt.datetime.now():%Y-%m-%d %H:%M} — {args.residents:,} residents, {args.townships} township(s)\n",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite store. Command: `.venv/bin/python bench/bench_places.py --residents {args.residents} "
        f"--townships {args.townships}`\n",
        f"Set-up (not measured here): synth {gen:.0f} s, sync of {len(sources)} sources {pre['sync']:.0f} s, "
        f"grids + entity linking {pre['link']:.0f} s.\n",
        "| step | full run (s) | re-run, no change (s) | what it wrote (full run) |",
        "|---|---:|---:|---|",
    ]
    for step, (secs, counts) in full.items():
        again = rows["re-run (no change)"][step][0]
        wrote = {k: v for k, v in counts.items() if k.endswith(("_created", "_updated", "_links_written"))
                 or k in ("assessed", "updated", "tags_added", "overdue")}
        lines.append(f"| {step} | {secs:.1f} | {again:.1f} | `{json.dumps(wrote, ensure_ascii=False)}` |")
    lines.append(f"\nPeak RSS of the whole process (synth + sync + link + these steps): {peak_mb:,.0f} MB.\n")
    lines.append("Grid assignment against truth (entities reached through the crosswalk):\n")
    lines.append("| entity | truth | reached | correct | village only | unassigned | accuracy |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for etype in ("person", "household", "organization"):
        r = score[etype]
        lines.append(f"| {etype} | {r['truth']:,} | {r['reached']:,} | {r['correct']:,} | {r['village_only']:,} | "
                     f"{r['unassigned']:,} | {r['accuracy']:.4f} |")
    lines.append(f"| all | | {score['all']['reached']:,} | {score['all']['correct']:,} | | | "
                 f"{score['all']['accuracy']:.4f} |")
    lines.append("\nPer record (each record's entity in the level-3 group / the village the record says; registry "
                 "and roster records: where the person is registered, floating-persons: where they live; over the "
                 "records the hub holds or should hold, i.e. linked or not quarantined by the truth; \"all records\" "
                 "counts every record):\n")
    lines.append("| records | total | held | linked | right group | right village | group | village | "
                 "group (all records) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row, r in per_record.items():
        lines.append(f"| {row} | {r['records']:,} | {r['held']:,} | {r['linked']:,} | {r['group']:,} | "
                     f"{r['village']:,} | {r['group_accuracy']:.4f} | {r['village_accuracy']:.4f} | "
                     f"{r['group_accuracy_all']:.4f} |")
    methods = {k: v for k, v in full["place_entities"][1].items() if "_by_" in k}
    lines.append(f"\nPlacement rules used: `{json.dumps(methods, ensure_ascii=False)}`\n")
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if not RESULTS.exists():
        RESULTS.write_text("# Places, events and tags benchmark\n\nEach run appends a section.\n", encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()

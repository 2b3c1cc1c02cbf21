"""Resolve accuracy and speed on a synthetic county, beside a plain exact-ID-join baseline.

    .venv/bin/python bench/bench_resolve.py --residents 100000 [--townships 1] [--out /tmp/bench-resolve]

Writes bench/results/resolve_<residents>x<townships>.md (bench/results/resolve.md reads them).

Day 0-1 of the county are synced and resolved in full; then day 2 is delivered, synced and
resolved incrementally. Each resolve runs in a child process so its wall time and peak memory
(ru_maxrss) are its own. Accuracy is pairwise precision/recall against truth/entities.csv over the
records that were loaded (rows the gate quarantined are not linkable and are excluded).
Then two figures beside the model's: the best a resolver that does not guess could reach (the
records the model left undecided kept apart, everything else as truth), and the accuracy after
a steward has worked the review queue (each pair decided as truth says) and resolve ran again.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "resolve"))

import county  # noqa: E402

from hub.db.session import transaction  # noqa: E402
from hub.resolve.persons.records import read_mentions, stream_plans  # noqa: E402

CHILD = """
import sys, time, json
from hub.context import HubContext
from hub.resolve.entities import resolve_entities
from hub.resolve.grids import project_grids
ctx = HubContext.from_config(sys.argv[1])
project_grids(ctx)  # as the resolve stage does first: the registry names the townships
t = time.perf_counter(); counts = resolve_entities(ctx); dt = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its parent's peak
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": dt, "counts": counts, "peak_mb": peak / 1024}))
"""


def resolve_in_child(cfg: Path) -> dict:
    import json

    proc = subprocess.run([sys.executable, "-c", CHILD, str(cfg)], capture_output=True, text=True, env=os.environ)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def baseline(ctx, etype: str) -> dict:  # type: ignore[no-untyped-def]
    """Exact-ID join: same citizen ID (or credit code) = same entity, everything else alone."""
    with transaction(ctx.db_url) as s:
        pred = {}
        for m in read_mentions(s, stream_plans(ctx, s)):
            if m.etype != etype or (m.deleted and not m.cid and not m.credit):
                continue
            key = m.cid if etype == "person" else m.credit
            pred[m.address] = f"k:{key}" if key else f"r:{m.address}"
    return pred


def undecidable_apart(ctx, etype: str, truth: dict) -> dict:  # type: ignore[no-untyped-def]
    """The best any resolver can do without guessing: every record linked as truth says, except
    those the model found undecidable (several equally placed namesakes), each left on its own."""
    from sqlalchemy import select

    from hub.db.models import EntityLink
    with transaction(ctx.db_url) as s:
        alone = set(s.execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key).where(
            EntityLink.entity_type == etype, EntityLink.method == "name_ambiguous")).tuples())
    return {k: f"alone:{k}" if k in alone else uid for k, uid in truth.items()}


def work_queue(ctx, truths: dict[str, dict]) -> Counter:  # type: ignore[no-untyped-def]
    """A steward works the whole review queue, deciding each pair as truth says: what the queue
    is worth once worked (does it hold the right candidate?), not what the model decides alone."""
    from hub.resolve.review import decide, list_reviews

    decided: Counter = Counter()
    for r in list_reviews(ctx):
        truth = truths.get(r["entity_type"], {})
        left, right = (truth.get(tuple(r[side].split("|", 2))) for side in ("left_key", "right_key"))
        verdict = "accept" if left is not None and left == right else "reject"
        decide(ctx, r["id"], verdict, by="bench: truth")
        decided[(r["entity_type"], verdict)] += 1
    return decided


def hide_last_day(out: Path, stash: Path) -> list[tuple[Path, Path]]:
    import json

    plan = json.loads((out / "truth" / "days.json").read_text(encoding="utf-8"))
    last = plan["days"][-1]
    moved = []
    for source, info in last["sources"].items():
        if source == "public-security":
            continue  # served by day
        for rel in info.get("files", []):
            src = out / rel
            day_of = [d["day"] for d in plan["days"] if rel in d["sources"].get(source, {}).get("files", [])]
            if src.exists() and min(day_of) == last["day"]:
                dst = stash / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(src), str(dst))
                moved.append((dst, src))
    return moved


def hold_population_day(out: Path) -> Callable[[], int]:
    """Take the last day's population rows out of population.db (into ``_held_*`` tables of the same file)
    and return the function that puts them back. The registry is a database read by update time, so
    ``hide_last_day`` (files only) leaves them in: the fresh sync would read the day's ~1,900 person and
    household rows at 500k and the day would have no population change. A row the day changed has no
    earlier version in the file: held back, it arrives on the day as a new row, not as an update."""
    import datetime as dt
    import json
    import sqlite3

    plan = json.loads((out / "truth" / "days.json").read_text(encoding="utf-8"))
    since = plan["days"][-1]["date"]
    until = (dt.date.fromisoformat(since) + dt.timedelta(days=1)).isoformat()  # not rows a bench changed since
    tables = ("t_rk_ry", "t_rk_hu")
    with sqlite3.connect(out / "population.db") as conn:
        for t in tables:  # rows a crashed run held back go home first
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (f"_held_{t}",)).fetchone():
                conn.execute(f"INSERT OR REPLACE INTO {t} SELECT * FROM _held_{t}")
                conn.execute(f"DROP TABLE _held_{t}")
            conn.execute(f"CREATE TABLE _held_{t} AS SELECT * FROM {t} WHERE gxsj >= ? AND gxsj < ?", (since, until))
            conn.execute(f"DELETE FROM {t} WHERE gxsj >= ? AND gxsj < ?", (since, until))

    def restore() -> int:
        back = 0
        with sqlite3.connect(out / "population.db") as conn:
            for t in tables:
                back += conn.execute(f"INSERT OR REPLACE INTO {t} SELECT * FROM _held_{t}").rowcount
                conn.execute(f"DROP TABLE _held_{t}")
        return back

    return restore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--townships", type=int, default=1, help="a county of 500,000 has ~25 townships of 20,000")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-resolve"))
    args = ap.parse_args()
    os.environ.setdefault("HUB_SECRET_KEY", "bench-resolve-secret")
    shutil.rmtree(args.out, ignore_errors=True)
    t0 = time.perf_counter()
    ctx, handle, sources = county.build_county(args.out, args.residents, days=2,
                                                   townships=args.townships)
    gen_s = time.perf_counter() - t0
    moved = hide_last_day(args.out, args.out.parent / (args.out.name + "-stash"))
    handle.set_day(1)
    t0 = time.perf_counter()
    county.sync_all(ctx, sources)
    sync_s = time.perf_counter() - t0
    full = resolve_in_child(args.out / "hub.yaml")
    again = resolve_in_child(args.out / "hub.yaml")
    for dst, src in moved:
        shutil.move(str(dst), str(src))
    handle.set_day(2)
    county.sync_all(ctx, sources)
    inc = resolve_in_child(args.out / "hub.yaml")
    handle()
    loaded, excluded = county.loaded_addresses(ctx), county.quarantined(args.out, ctx)
    truths = {etype: county.truth_clusters(args.out, etype, ctx) for etype in ("person", "organization")}
    rows = []
    for etype, truth in truths.items():
        ours = county.pairwise(truth, county.predicted(ctx, etype), loaded, excluded)
        base = county.pairwise(truth, baseline(ctx, etype), loaded, excluded)
        rows.append((etype, ours, base))
    with transaction(ctx.db_url) as s:
        from sqlalchemy import func, select

        from hub.db.models import EntityLink, MatchReview
        methods = dict(s.execute(select(EntityLink.method, func.count()).group_by(EntityLink.method)).all())
        reviews = dict(s.execute(select(MatchReview.entity_type, func.count()).group_by(MatchReview.entity_type)).all())
        sizes = Counter(n for (n,) in s.execute(select(func.count()).select_from(EntityLink)
                                                 .where(EntityLink.entity_type == "person")
                                                 .group_by(EntityLink.entity_id)))
    bounds = [(etype, county.pairwise(truth, undecidable_apart(ctx, etype, truth), loaded, excluded))
              for etype, truth in truths.items()]
    worked = work_queue(ctx, truths)
    after = resolve_in_child(args.out / "hub.yaml")
    steward = [(etype, county.pairwise(truth, county.predicted(ctx, etype), loaded, excluded))
               for etype, truth in truths.items()]
    report = render(args, gen_s, sync_s, full, again, inc, rows, methods, reviews, sizes)
    report += render_steward(worked, after, steward, bounds)
    name = f"resolve_{args.residents}x{args.townships}.md"
    (ROOT / "bench" / "results" / name).write_text(report, encoding="utf-8")
    print(report)


def render(args, gen_s, sync_s, full, again, inc, rows, methods, reviews, sizes) -> str:  # type: ignore[no-untyped-def]
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Resolve benchmark (persons, households, organisations)", "",
        f"Command: `.venv/bin/python bench/bench_resolve.py --residents {args.residents} "
        f"--townships {args.townships}`  ",
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average before: "
        f"{os.getloadavg()[0]:.1f}.  ",
        f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, SQLite store.  ",
        f"County: {args.residents:,} residents in {args.townships} township(s), days 0-2; generation {gen_s:.0f} s, "
        f"sync of days 0-1 {sync_s:.0f} s.",
        "", "## Accuracy (pairwise, over loaded records; quarantined rows excluded)", "",
        "| entities | method | records | true pairs | predicted pairs | precision | recall |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for etype, ours, base in rows:
        for label, r in (("resolve (deterministic + Splink)", ours), ("baseline: exact ID / credit-code join", base)):
            lines.append(f"| {etype} | {label} | {r['records']:,} | {r['true_pairs']:,} | {r['predicted_pairs']:,} "
                         f"| {r['precision']:.4f} | {r['recall']:.4f} |")
    lines += ["", "## Time and memory (each resolve in its own process)", "",
              "| resolve | wall time | peak RSS | records examined |", "|---|---:|---:|---:|",
              f"| full (days 0-1) | {full['seconds']:.1f} s | {full['peak_mb']:.0f} MB | {full['counts'].get('records_changed', 0):,} |",
              f"| again, nothing changed | {again['seconds']:.1f} s | {again['peak_mb']:.0f} MB | {again['counts'].get('records_changed', 0):,} |",
              f"| incremental (day 2 delivered) | {inc['seconds']:.1f} s | {inc['peak_mb']:.0f} MB | {inc['counts'].get('records_changed', 0):,} |",
              "", f"Incremental / full: {inc['seconds'] / max(full['seconds'], 1e-9):.1%}.", "",
              "## Links by method", "", "| method | links |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" for k, v in sorted(methods.items(), key=lambda kv: -kv[1])]
    queue = ", ".join(f"{k} {v:,}" for k, v in sorted(reviews.items())) or "empty"
    lines += ["", f"Review queue (pairs): {queue}. Person cluster sizes (records per person): "
              + ", ".join(f"{k}: {v:,}" for k, v in sorted(sizes.items())), ""]
    return "\n".join(lines)


def render_steward(worked: Counter, after: dict, rows: list, bounds: list) -> str:
    lines = ["## What the records allow, and the review queue", "",
             "Upper bound without guessing: every record linked as truth says except the mentions the model "
             "left undecided (`name_ambiguous`: an employer known only by a name several equally placed "
             "organisations bear), each kept on its own:", "",
             "| entities | precision | recall |", "|---|---:|---:|"]
    lines += [f"| {etype} | {r['precision']:.4f} | {r['recall']:.4f} |" for etype, r in bounds]
    lines += ["", "After a steward works the review queue: each pending pair decided as truth says (a steward "
              "who checks the records), "
              "then resolve run again: " + ", ".join(f"{e} {v} {n:,}" for (e, v), n in sorted(worked.items()))
              + f"; that resolve took {after['seconds']:.1f} s. The model's own figures are the first table.", "",
              "| entities | precision | recall |", "|---|---:|---:|"]
    lines += [f"| {etype} | {r['precision']:.4f} | {r['recall']:.4f} |" for etype, r in rows]
    return "\n".join(lines + [""])


if __name__ == "__main__":
    main()

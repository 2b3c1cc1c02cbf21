"""Benchmark: the places step alone, its full pass on a fresh county and its pass over one more day.

    .venv/bin/python bench/bench_places_passes.py prepare --folder /tmp/h4/c200k --snaps /tmp/h4/snap
    .venv/bin/python bench/bench_places_passes.py time --snaps /tmp/h4/snap --pass fresh --repeat 3
    .venv/bin/python bench/bench_places_passes.py time --snaps /tmp/h4/snap --pass day --repeat 3
    .venv/bin/python bench/bench_places_passes.py dump --snaps /tmp/h4/snap --pass day --to /tmp/h4/day.json
    .venv/bin/python bench/bench_places_passes.py time --step tags --pass fresh --repeat 3 --against OLD --ours NEW

``prepare`` takes a ``hub synth`` county (``--days 2``), holds day 2 back, syncs days 0-1 (resolve off),
projects grids and links entities: snapshot ``linked-d1.db`` (what the first places pass meets in a fresh
``hub sync --all``); then places (``placed-d1.db``: what the first events pass meets), events
(``evented-d1.db``: what the first tags pass meets) and tags as ``resolve`` runs them; day 2 delivered,
synced and linked: the same three snapshots ``*-d2.db`` (what a day's passes meet). ``time`` copies the
snapshot the step meets (``--step places|events|tags``, ``--pass fresh|day``) and runs that step on the
copy in a child process, reporting its CPU seconds (user + system, os.wait4) and wall seconds; with
``--against OLD --ours NEW`` (trees holding ``hub/``) it alternates the two, pair by pair. ``dump`` also
writes every row the step leaves (placements, building links, the address book, events with their parties
and inspections, tags, flags, the change feed) as digests per table, one file per tree, to compare two
trees' outputs, or a day pass with ``full=True`` on the same snapshot (``--full``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "resolve"))

SECRET = "places-passes-secret"
TOKEN = "places-passes-token"
DAYS = [dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2)]
SNAP = {"fresh": "linked-d1.db", "day": "linked-d2.db"}
#: the snapshot each step meets: places right after linking, events after places, tags after events
STEP_SNAP = {"places": "linked", "events": "placed", "tags": "evented"}

CHILD = """
import datetime as dt, json, sys, time
from hub.context import HubContext
from hub.resolve.events import project_events
from hub.resolve.places import place_entities
from hub.resolve.tags import derive_tags
ctx = HubContext.from_config(sys.argv[1])
full, step, today = sys.argv[2] == "full", sys.argv[3], dt.date.fromisoformat(sys.argv[4])
t, c = time.perf_counter(), time.process_time()
if step == "places":
    counts = place_entities(ctx, full=full)
elif step == "events":
    counts = project_events(ctx, today, full=full)
else:
    counts = derive_tags(ctx, today, full=full)
print(json.dumps({"step_wall": time.perf_counter() - t, "step_cpu": time.process_time() - c, "counts": counts}))
"""


def _config(folder: Path, db: Path) -> Path:
    """A hub.yaml beside the county's, its store at ``db``."""
    text = (folder / "hub.yaml").read_text(encoding="utf-8")
    cfg = db.with_suffix(".yaml")
    cfg.write_text(re.sub(r"^database: .*$", f"database: sqlite:///{db}", text, flags=re.M), encoding="utf-8")
    return cfg


def prepare(folder: Path, snaps: Path) -> None:
    from county import deliver, stash_days, sync_all

    from hub.context import HubContext
    from hub.resolve import watermark
    from hub.resolve.entities import resolve_entities
    from hub.resolve.events import project_events
    from hub.resolve.grids import project_grids
    from hub.resolve.places import place_entities
    from hub.resolve.tags import derive_tags
    from hub.synth.server import start_in_thread

    os.environ["PUBLIC_SECURITY_TOKEN"] = TOKEN
    snaps.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / "var", ignore_errors=True)
    moved = stash_days(folder, folder.parent / (folder.name + "-day2"), 2)
    url, handle = start_in_thread(folder, TOKEN, rate_limit_per_s=1e6, fail_rate=0.0, day=1)
    cfg = folder / "hub.yaml"
    cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                   encoding="utf-8")
    try:
        ctx = HubContext.from_config(cfg)
        installed = set(ctx.host.connectors())
        sources = [n for n, s in ctx.config.sources.items() if s.connector in installed]
        db = Path(ctx.db_url.removeprefix("sqlite:///"))
        for day, snap in ((1, "linked-d1.db"), (2, "linked-d2.db")):
            if day == 2:
                deliver(moved)
                moved = []
                handle.set_day(2)
            t = time.perf_counter()
            sync_all(ctx, sources)
            seen = watermark.mark(ctx)
            project_grids(ctx)
            resolve_entities(ctx)
            print(f"day {day}: synced and linked in {time.perf_counter() - t:.0f} s", flush=True)
            _backup(db, snaps / snap)
            place_entities(ctx)
            _backup(db, snaps / snap.replace("linked", "placed"))
            project_events(ctx, DAYS[day])
            _backup(db, snaps / snap.replace("linked", "evented"))
            derive_tags(ctx, DAYS[day])
            watermark.remember(ctx, seen)
    finally:
        handle()
        deliver(moved)


def _backup(db: Path, to: Path) -> None:
    """A consistent copy of a SQLite store in WAL mode (the file alone may lack the last commits)."""
    import sqlite3

    to.unlink(missing_ok=True)
    with sqlite3.connect(db) as src, sqlite3.connect(to) as dst:
        src.backup(dst)
    dst.close()


def _copy(snaps: Path, which: str, folder: Path, step: str = "places") -> Path:
    work = snaps / f"work-{which}.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copy(snaps / SNAP[which].replace("linked", STEP_SNAP[step]), work)
    return _config(folder, work)


def run_pass(snaps: Path, which: str, folder: Path, full: bool, tree: Path | None = None,
             step: str = "places") -> dict:
    cfg = _copy(snaps, which, folder, step)
    today = DAYS[1 if which == "fresh" else 2].isoformat()
    env = {**os.environ, "HUB_SECRET_KEY": SECRET, "PUBLIC_SECURITY_TOKEN": TOKEN}
    if tree is not None:  # another tree's hub package (e.g. `git archive <commit> hub | tar -x -C <tree>`)
        env["PYTHONPATH"] = str(tree)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(cfg), "full" if full else "auto", step, today],
                            stdout=subprocess.PIPE, env=env, cwd=folder)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status:
        sys.exit(f"error: the places pass failed (status {status})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "peak_mb": usage.ru_maxrss / 1024, **result,
            "cfg": str(cfg)}


def dump(cfg: Path) -> dict[str, str]:
    """A digest per table of every placement the pass leaves, and the rows themselves (for a diff)."""
    import sqlite3

    text = cfg.read_text(encoding="utf-8")
    db = re.search(r"^database: sqlite:///(.*)$", text, flags=re.M).group(1)  # type: ignore[union-attr]
    queries = {
        "building": "SELECT id, address, address_key, village_code, grid_code, grid_method, lon, lat FROM building",
        "household": "SELECT id, building_id, grid_code FROM household",
        "person": "SELECT id, building_id, grid_code, registered_grid_code, residence_basis FROM person",
        "organization": "SELECT id, building_id, grid_code FROM organization",
        "building_link": "SELECT source, stream, source_key, entity_id, method FROM entity_link "
                         "WHERE entity_type = 'building'",
        "address_evidence": "SELECT kind, source, ref, village, house, joined FROM address_evidence",
        "change_feed": "SELECT entity_type, entity_id, change, run_id FROM change_feed",
        "event": "SELECT id, kind, source, source_key, category, grid_code, location, summary, remit, status, "
                 "sensitive, organization_id, inspection_id, occurred_at, accepted_at, resolved_at, closed_at, "
                 "due_on, overdue, escalated, history, details FROM event",
        "event_party": "SELECT event_id, role, person_id, organization_id, name, note, party_key FROM event_party",
        "inspection": "SELECT * FROM inspection",
        "event_link": "SELECT source, stream, source_key, entity_id, method FROM entity_link "
                      "WHERE entity_type = 'event'",
        "person_tag": "SELECT person_id, tag, sensitive FROM person_tag",
        "organization_tag": "SELECT organization_id, tag, event_ids FROM organization_tag",
        "tags_state": "SELECT json_extract(state, '$.day'), json_extract(state, '$.feed'), "
                      "json_extract(state, '$.inactive') FROM stream_state WHERE source = 'resolve' AND stream = 'tags'",
    }
    out = {}
    with sqlite3.connect(db) as conn:
        for name, sql in queries.items():
            rows = sorted(json.dumps(r, default=str, ensure_ascii=False) for r in conn.execute(sql))
            out[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16] + f" ({len(rows)} rows)"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["prepare", "time", "dump"])
    ap.add_argument("--folder", type=Path, default=Path("/tmp/h4/c200k"))
    ap.add_argument("--snaps", type=Path, default=Path("/tmp/h4/snap"))
    ap.add_argument("--pass", dest="which", choices=["fresh", "day"], default="fresh")
    ap.add_argument("--full", action="store_true", help="place_entities(full=True)")
    ap.add_argument("--step", choices=list(STEP_SNAP), default="places",
                    help="the resolve step to time, on the snapshot it meets (tags: after events)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--to", type=Path)
    ap.add_argument("--against", type=Path, help="a tree holding another version's hub/: each repeat runs it, then ours")
    ap.add_argument("--ours", type=Path, help="a tree holding this version's hub/ (default: the checkout's), so "
                                               "other engineers' uncommitted edits stay out of the comparison")
    args = ap.parse_args()
    os.environ.setdefault("HUB_SECRET_KEY", SECRET)
    if args.what == "prepare":
        prepare(args.folder.resolve(), args.snaps.resolve())
        return
    seen: dict[str, list[float]] = {}
    for n in range(args.repeat):
        for label, tree in ([("before", args.against)] if args.against else []) + [("this tree", args.ours)]:
            load = "/".join(f"{x:.1f}" for x in os.getloadavg())
            r = run_pass(args.snaps.resolve(), args.which, args.folder.resolve(), args.full, tree, args.step)
            seen.setdefault(label, []).append(r["step_cpu"])
            print(f"{args.step} {args.which}{' full' if args.full else ''} {label} #{n + 1}: step cpu {r['step_cpu']:.2f} s, "
                  f"wall {r['step_wall']:.2f} s; process cpu {r['cpu']:.2f} s, wall {r['wall']:.2f} s, "
                  f"peak {r['peak_mb']:.0f} MB; load before {load}", flush=True)
            if args.what == "dump":  # each tree's output, before the next run overwrites the copy
                digest = dump(Path(r["cfg"]))
                print(json.dumps(digest, indent=1))
                if args.to:
                    to = args.to.with_name(f"{args.to.stem}-{label.replace(' ', '-')}{args.to.suffix}")
                    to.write_text(json.dumps({"counts": r["counts"], "tables": digest}, indent=1), encoding="utf-8")
    for label, cpus in seen.items():
        print(f"{label}: median step cpu {statistics.median(cpus):.2f} s of {len(cpus)} ({', '.join(f'{c:.2f}' for c in cpus)})")


if __name__ == "__main__":
    main()

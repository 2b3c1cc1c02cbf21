"""Issue 19's Done-when at county scale: the same county through two trees of hub, the output compared.

    .venv/bin/python bench/identity_county.py --folder /tmp/c100k --before-tree /tmp/tree-old [--after-tree DIR]

The county folder is a ``hub synth`` output (e.g. ``hub synth --out /tmp/c100k --residents 100000 --townships 5
--days 2``). Each tree (``git archive <rev> hub plugins | tar -x -C DIR``; the after side defaults to this
working tree) syncs it the way a county runs it: every source fresh with the last day held back
(``hide_last_day`` and ``hold_population_day``), then the last day delivered and synced, each a whole
``hub sync --all`` in a child process with that tree first on PYTHONPATH, into its own store. Then the
crosswalk, the golden persons, households and organisations, buildings, inspections, events and their
parties, person and organisation tags and the open quarantine of the two stores are compared exactly as
tests/perf/test_output_identity.py compares a day-by-day store with an all-at-once one (entities named
by their records, encrypted values compared decrypted; only counts and keys are printed, never values).
Prints one line a table and writes bench/results/identity.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_resolve import hide_last_day, hold_population_day  # noqa: E402

from hub.context import HubContext  # noqa: E402
from hub.db.models import Building, Event, EventParty, Inspection, PersonTag, QuarantinedRow  # noqa: E402
from hub.db.models.events import OrganizationTag  # noqa: E402
from hub.synth.server import start_in_thread  # noqa: E402
from tests.perf.test_output_identity import ENTITY_TABLES, _differences, _names, _rows  # noqa: E402

TOKEN = "identity-bench-token"
SECRET = "identity-bench-secret"


def run_side(folder: Path, tree: Path, side: str) -> tuple[HubContext, list[str]]:
    """The county fresh (last day held back), then its last day, through ``tree``; its context and timings."""
    var = folder / f"var-{side}"
    shutil.rmtree(var, ignore_errors=True)
    text = (folder / "hub.yaml").read_text(encoding="utf-8")
    text = re.sub(r"^database: .*$", f"database: sqlite:///{var}/hub.db", text, flags=re.M)
    config = folder / f"hub-{side}.yaml"
    config.write_text(re.sub(r"^landing: .*$", f"landing: {var}/landing", text, flags=re.M), encoding="utf-8")
    path = ":".join([str(tree)] + [str(p) for p in sorted((tree / "plugins").iterdir())])
    env = {**os.environ, "HUB_SECRET_KEY": SECRET, "PUBLIC_SECURITY_TOKEN": TOKEN, "PYTHONPATH": path}
    stash = folder.parent / (folder.name + "-held")
    moved = hide_last_day(folder, stash)
    restore = hold_population_day(folder)
    restored = False
    url, handle = start_in_thread(folder, TOKEN, rate_limit_per_s=1e6, fail_rate=0.0, day=1)
    config.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', config.read_text(encoding="utf-8")),
                      encoding="utf-8")
    timings = []
    try:
        for label in ("fresh", "day"):
            if label == "day":
                for dst, src in moved:
                    shutil.move(str(dst), str(src))
                moved, restored = [], True
                restore()
                handle.set_day(2)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "hub", "--config", str(config), "sync", "--all"], cwd=folder,
                                  env=env, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{side} {label} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            timings.append(f"{label} {time.perf_counter() - started:.1f} s")
    finally:
        handle()
        if not restored:
            restore()
        for dst, src in moved:
            shutil.move(str(dst), str(src))
    os.environ["HUB_SECRET_KEY"] = SECRET
    return HubContext.from_config(config), timings


def compare(a: HubContext, b: HubContext) -> list[tuple[str, int, str]]:
    """(table, rows compared, "" when equal else what differs) for every table of the Done-when."""
    (names_a, cross_a), (names_b, cross_b) = _names(a), _names(b)
    out = [("crosswalk", len(cross_a), "" if cross_a == cross_b else
            f"{len(cross_a - cross_b)} rows only before, {len(cross_b - cross_a)} only after")]
    for etype, model in sorted(ENTITY_TABLES.items()):
        rows_a, rows_b = _rows(a, model, names_a, etype), _rows(b, model, names_b, etype)
        out.append((model.__tablename__, len(rows_a), _differences(rows_a, rows_b)))
    for model in (Building, Inspection, Event, EventParty, PersonTag, OrganizationTag):
        rows_a, rows_b = _rows(a, model, names_a), _rows(b, model, names_b)
        out.append((model.__tablename__, len(rows_a), _differences(rows_a, rows_b)))
    keep = {"raw_hash", "source", "stream", "source_key", "scope", "column_name", "reasons"}
    drop = {c.name for c in QuarantinedRow.__table__.columns} - keep
    rows_a = _rows(a, QuarantinedRow, {}, where=QuarantinedRow.status == "open", drop=drop)
    rows_b = _rows(b, QuarantinedRow, {}, where=QuarantinedRow.status == "open", drop=drop)
    out.append(("open quarantine", len(rows_a), _differences(rows_a, rows_b)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--before-tree", type=Path, required=True)
    ap.add_argument("--after-tree", type=Path, default=ROOT)
    ap.add_argument("--label", default="", help="what the two trees are, for the results file")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "identity.md")
    args = ap.parse_args()
    folder = args.folder.resolve()
    before, before_times = run_side(folder, args.before_tree.resolve(), "before")
    after, after_times = run_side(folder, args.after_tree.resolve(), "after")
    rows = compare(before, after)
    lines = ["# The same county through two trees (issue 19: output identical)", "",
             f"County `{folder}`; {args.label or f'{args.before_tree} against {args.after_tree}'}; measured "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Each side: every source fresh with the last day "
             "held back, then the last day, each a whole `hub sync --all` (sync and resolve).",
             f"Before: {', '.join(before_times)}; after: {', '.join(after_times)} (wall, not a benchmark).", "",
             "| table | rows | same? |", "|---|---:|---|"]
    lines += [f"| {table} | {n:,} | {diff or 'identical'} |" for table, n, diff in rows]
    lines += ["", f"Reproduce: `.venv/bin/python bench/identity_county.py --folder {folder} --before-tree DIR` "
                  "(DIR from `git archive <rev> hub plugins | tar -x -C DIR`)."]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if any(diff for _, _, diff in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Issue 19, one changed row: ``hub sync --all`` start to exit, this tree beside another copy of hub.

    .venv/bin/python bench/bench_one_row.py --folder /tmp/h8/c100k --before-tree /tmp/h8/before --rounds 3

The county folder must already be synced (its hub.yaml points at a running public-security server,
e.g. ``hub.synth.server.start_in_thread``). Each round changes one resident's phone as
bench/bench_county.py does and runs ``hub sync --all``, then once more with nothing new; the two
trees alternate (before, after, after, before, ...) so the machine's load falls on both alike.
``--before-tree`` is a directory holding another ``hub`` package (``git archive <rev> hub | tar -x``),
put first on PYTHONPATH; the child runs in the county folder so the working tree is not on sys.path.
Prints wall, user+sys CPU and the 1-minute load average of every run.

``--after-tree`` puts a snapshot on the other side too (default: this working tree, which carries
whatever is uncommitted in it). When the side changes, one unrecorded sync of a changed row runs
first, so each side's recorded runs start from stream state its own code wrote (a mark one side
keeps and the other drops would otherwise cost the first side a rebuild after every switch).

``--day SNAPSHOT`` times a day's sync instead (``hub sync --all --no-resolve``, as the user runs it after
a day's deliveries): each run starts from a fresh copy of SNAPSHOT (a county synced up to the day before,
its last day's files held back as bench_county.py holds them), copies ``--day-files`` (the held-back
files, same layout) over it, points public-security at ``--day-url`` (a server serving the next day),
and runs the command; ``--env NAME=VALUE`` (repeatable) is set on both sides::

    .venv/bin/python bench/bench_one_row.py --day /tmp/c200k-day1 --day-files /tmp/c200k-day2 \
        --day-url http://127.0.0.1:18762 --before-tree /tmp/t0 --after-tree /tmp/t1 --rounds 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def change_one_row(folder: Path) -> None:
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(folder / "population.db") as conn:
        conn.execute("UPDATE t_rk_ry SET lxdh = ?, gxsj = ? WHERE ryid = (SELECT ryid FROM t_rk_ry WHERE zxbz IS NULL "
                     "OR zxbz != '1' ORDER BY ryid LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM t_rk_ry))",
                     (f"139{random.randrange(10**8):08d}", now))


def sync_all(folder: Path, env: dict[str, str], *extra: str) -> dict[str, float | bool]:
    cmd = [sys.executable, str(ROOT / ".venv" / "bin" / "hub"), "--config", "hub.yaml", "sync", "--all", *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"failed: {' '.join(cmd)}\n{out[-3000:]}")
    return {"wall": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
            "load": os.getloadavg()[0], "loaded": "loaded 1," in out,
            "read": sum(int(n) for n in re.findall(r": read (\d+),", out))}


def day_county(snapshot: Path, day_files: Path, url: str) -> Path:
    """A fresh copy of the county synced up to the day before, with the next day's files delivered."""
    folder = snapshot.with_name(snapshot.name + "-run")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(snapshot, folder, symlinks=True)
    shutil.copytree(day_files, folder, dirs_exist_ok=True)
    cfg = folder / "hub.yaml"
    cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                   encoding="utf-8")
    return folder


def time_day(args: argparse.Namespace, trees: dict[str, dict[str, str]]) -> dict[str, list[dict[str, float | bool]]]:
    results: dict[str, list[dict[str, float | bool]]] = {}
    for r in range(args.rounds):
        for name in (list(trees) if r % 2 else list(trees)[::-1]):
            folder = day_county(args.day, args.day_files, args.day_url)
            results.setdefault(f"{name} day", []).append(sync_all(folder, trees[name], "--no-resolve"))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, help="the synced county for the one-row runs")
    ap.add_argument("--before-tree", type=Path, help="a directory holding the hub package to compare with")
    ap.add_argument("--after-tree", type=Path, help="a directory holding the hub package measured as 'after'")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secret", default=os.environ.get("HUB_SECRET_KEY", "m19"))
    ap.add_argument("--token", default=os.environ.get("PUBLIC_SECURITY_TOKEN", "county-bench-token"))
    ap.add_argument("--day", type=Path, help="time a day's sync from this synced county instead (see above)")
    ap.add_argument("--day-files", type=Path, help="with --day: the held-back files of the day, same layout")
    ap.add_argument("--day-url", help="with --day: public-security serving the day (http://host:port)")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE set for both sides")
    args = ap.parse_args()
    base = {**os.environ, "HUB_SECRET_KEY": args.secret, "PUBLIC_SECURITY_TOKEN": args.token, "COLUMNS": "200",
            **dict(e.split("=", 1) for e in args.env)}
    trees = {"after": {**base, "PYTHONPATH": str(args.after_tree.resolve())} if args.after_tree else base}
    if args.before_tree:
        trees["before"] = {**base, "PYTHONPATH": str(args.before_tree.resolve())}
    if args.day:
        if not (args.day_files and args.day_url):
            sys.exit("--day needs --day-files and --day-url")
        show(time_day(args, trees))
        return
    if not args.folder:
        sys.exit("--folder (one changed row) or --day (a day's sync) is needed")
    results: dict[str, list[dict[str, float | bool]]] = {}
    last = None
    for r in range(args.rounds):
        for name in (list(trees) if r % 2 else list(trees)[::-1]):
            if last is not None and last != name:  # settle: this side's own state first (not recorded)
                change_one_row(args.folder)
                sync_all(args.folder, trees[name])
            last = name
            change_one_row(args.folder)
            results.setdefault(f"{name} one row", []).append(sync_all(args.folder, trees[name]))
            results.setdefault(f"{name} nothing new", []).append(sync_all(args.folder, trees[name]))
    show(results)


def show(results: dict[str, list[dict[str, float | bool]]]) -> None:
    for name, runs in results.items():
        print(f"{name:20}", "  ".join(f"{x['wall']:.2f} s / {x['cpu']:.2f} CPU s @ load {x['load']:.1f}"
                                     + (f" ({x['read']} read)" if name.endswith(" day") else ""
                                        if x["loaded"] or "nothing" in name else " (row not loaded!)")
                                     for x in runs))


if __name__ == "__main__":
    main()

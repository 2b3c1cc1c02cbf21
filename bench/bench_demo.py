"""Issue 7's performance: `hub demo --no-serve` fresh and re-run, and wall time per DAG and task.

    .venv/bin/python bench/bench_demo.py                 # default township (20,000 residents)
    .venv/bin/python bench/bench_demo.py --residents 500000 --out bench/results/demo_county.md

Runs the real command in a child process (real Airflow, dag.test() on a SQLite metadata DB) and
reads the per-DAG/per-task timings from the demo's own Airflow metadata DB.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_demo(folder: Path, residents: int) -> float:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "hub", "-q", "demo", "--dir", str(folder), "--no-serve",
                           "--residents", str(residents)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "160"}, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"demo failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return wall


def task_times(folder: Path) -> list[tuple[str, str, float]]:
    with sqlite3.connect(folder / "airflow" / "airflow.db") as conn:
        rows = conn.execute(
            "SELECT dag_id, task_id, (julianday(end_date) - julianday(start_date)) * 86400.0 FROM task_instance "
            "WHERE start_date IS NOT NULL AND end_date IS NOT NULL ORDER BY start_date").fetchall()
    return [(d, t, float(s or 0)) for d, t, s in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/demo.md")
    args = parser.parse_args()
    folder = ROOT / "bench/work" / f"demo-{args.residents}"
    shutil.rmtree(folder, ignore_errors=True)
    fresh = run_demo(folder, args.residents)
    fresh_tasks = task_times(folder)
    rerun = run_demo(folder, args.residents)
    rerun_tasks = task_times(folder)[len(fresh_tasks):]
    lines = [
        f"# `hub demo --no-serve`, {args.residents:,} residents",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Reproduce: `.venv/bin/python bench/bench_demo.py --residents {args.residents}`",
        "",
        "| run | wall (s) | target |",
        "|---|---:|---|",
        f"| fresh (synthesise + every DAG) | {fresh:.1f} | ≤ 180 s (default township) |",
        f"| re-run, no changes | {rerun:.1f} | ≤ 60 s |",
        "",
        "Wall includes Python start-up, `airflow db migrate`, and the import of Airflow and Great Expectations.",
        "",
    ]
    for title, rows in (("fresh", fresh_tasks), ("re-run", rerun_tasks)):
        lines += [f"## Per task, {title}", "", "| DAG | task | seconds |", "|---|---|---:|"]
        lines += [f"| {d} | {t} | {s:.2f} |" for d, t, s in rows]
        lines.append("")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:12]))


if __name__ == "__main__":
    main()

"""The population load as a user runs it, beside dlt 1.31 on the same database; and nothing new.

Called by ``bench_population.py --load``. Every figure is one whole command in a child process:
wall from start to exit; CPU as user+sys of the command and every process it waited for (the
validator ``hub sync`` forks is one), so CPU / wall says how many cores the command kept busy; peak
memory as the largest sum of the PSS of the command's process tree, sampled every 50 ms (PSS, not RSS:
the forked validator shares its parent's pages, and RSS would count them twice).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import psutil

HERE = Path(__file__).parent
DLT_PY = HERE / ".venv-dlt" / "bin" / "python"
DLT_CHILD = """
import sys, dlt
from dlt.sources.sql_database import sql_table
src, dst = sys.argv[1], sys.argv[2]
pipeline = dlt.pipeline(pipeline_name="population_bench", destination=dlt.destinations.sqlalchemy(f"sqlite:///{dst}"),
                        dataset_name="population", pipelines_dir=sys.argv[3])
pipeline.run([sql_table(credentials=f"sqlite:///{src}", table=t, backend="pyarrow") for t in ("t_rk_ry", "t_rk_hu")])
"""
MARK, END = "<!-- whole-command-beside-dlt -->", "<!-- /whole-command-beside-dlt -->"


def run(cmd: list[str], cwd: Path) -> dict:
    env = {**os.environ, "HUB_SECRET_KEY": os.environ.get("HUB_SECRET_KEY", "bench")}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - started
    out = proc.stdout.read() if proc.stdout else ""
    # the child was reaped by poll(): its CPU and its waited-for children's is in RUSAGE_CHILDREN's growth
    return {"wall": wall, "out": out, "code": proc.returncode, "peak_mb": peak / 2**20}


def timed(cmd: list[str], cwd: Path) -> dict:
    before = os.times()
    result = run(cmd, cwd)
    after = os.times()
    result["cpu"] = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    result["load"] = os.getloadavg()[0]
    if result["code"]:
        raise SystemExit(f"failed ({result['code']}): {' '.join(cmd)}\n{result['out'][-3000:]}")
    return result


def config(folder: Path, db: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "hub.yaml"
    path.write_text(f'database: sqlite:///var/hub.db\nlanding: var/landing\nsources:\n'
                    f'  population: {{connector: population, url: "sqlite:///{db.resolve()}"}}\n', encoding="utf-8")
    return path


def ledger(out: str) -> dict[str, int]:
    counts = {"read": 0, "loaded": 0, "unchanged": 0, "quarantined": 0, "tombstoned": 0}
    for line in re.findall(r"^population\.\w+: (.*)$", out, re.M):
        for name, n in re.findall(r"(\w+) (\d+)", line):
            counts[name] = counts.get(name, 0) + int(n)
    return counts


def ours(db: Path, hub: str, work: Path) -> dict:
    cfg = config(work / "ours", db)
    result = timed([hub, "--config", str(cfg), "sync", "population", "--no-resolve"], cfg.parent)
    result["rows"] = ledger(result["out"])["read"]
    shutil.rmtree(cfg.parent, ignore_errors=True)
    return result


def dlt(db: Path, rows: int, work: Path) -> dict:
    folder = work / "dlt"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result = timed([str(DLT_PY), "-c", DLT_CHILD, str(db.resolve()), str(folder / "dlt.db"), str(folder / "pipelines")],
                   folder)
    result["rows"] = rows
    shutil.rmtree(folder, ignore_errors=True)
    return result


def nothing_new(db: Path, hub: str, work: Path, settling: int = 50) -> list[dict]:
    """A fresh sync of a copy whose ``settling`` persons changed just now, then two syncs with nothing
    new: the connector reads those persons again (they are inside its settle window)."""
    copy = work / "settling.db"
    shutil.copy2(db, copy)
    now = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE t_rk_ry SET gxsj = ? WHERE ryid IN (SELECT ryid FROM t_rk_ry ORDER BY ryid LIMIT ?)",
                     (now, settling))
    cfg = config(work / "nothing", copy)
    runs = []
    for _ in range(3):
        result = timed([hub, "--config", str(cfg), "sync", "population", "--no-resolve"], cfg.parent)
        result["ledger"] = ledger(result["out"])
        runs.append(result)
    shutil.rmtree(cfg.parent, ignore_errors=True)
    copy.unlink()
    return runs


def row(label: str, r: dict) -> str:
    rate = r["rows"] / r["wall"] if r.get("rows") else 0
    return (f"| {label} | {r.get('rows', 0):,} | {r['wall']:.1f} | {rate:,.0f} | {r['cpu']:.1f} | "
            f"{r['cpu'] / r['wall']:.2f} | {r['peak_mb']:,.0f} | {r['load']:.1f} |")


def measure(db: Path, residents: int, rounds: int, hub: str, out: Path, base: Path = HERE / "work", *,
            nothing: bool = True) -> None:
    work = base / "load-beside-dlt"
    work.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as conn:
        rows = sum(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("t_rk_ry", "t_rk_hu"))
    lines, ratios = [], []
    for n in range(rounds):  # alternately, so both see the same neighbours on the shared cores
        mine = ours(db, hub, work)
        lines.append(row(f"`hub sync population --no-resolve`, fresh store (round {n + 1})", mine))
        print(lines[-1], flush=True)
        if DLT_PY.exists():
            theirs = dlt(db, rows, work)
            lines.append(row(f"dlt 1.31 `sql_table` pyarrow → SQLite (round {n + 1})", theirs))
            print(lines[-1], flush=True)
            ratios.append((mine["rows"] / mine["wall"]) / (theirs["rows"] / theirs["wall"]))
    again = nothing_new(db, hub, work) if nothing else []
    for n, r in enumerate(again):
        r["rows"] = r["ledger"]["read"]
        label = "fresh store, 50 persons inside the settle window" if n == 0 else f"nothing new ({n})"
        lines.append(row(f"`hub sync population --no-resolve`: {label}; ledger {r['ledger']}", r))
        print(lines[-1], flush=True)
    ratio = ", ".join(f"{x:.2f}×" for x in ratios) or "dlt not installed (bench/.venv-dlt)"
    section = f"""{MARK}
## The whole command beside dlt, and nothing new (issue 19)

Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `python bench/bench_population.py --load --residents
{residents} --rounds {rounds}` ({hub}); data: the county above at {residents:,} residents ({rows:,} rows of
`t_rk_ry` + `t_rk_hu`). Each line is one whole command in a child process, start to exit. *cpu s* is user+sys
of the command and every process it waited for; *cores* = cpu s / wall s; *peak MB* the largest sampled sum
of the PSS of the command's process tree (shared pages counted once); *load* the 1-minute load average when it ended (seven engineers
shared these 2 cores: wall figures are noisy, compare lines of the same run).

Ours / dlt rows per wall second, by round: {ratio}.

| command | rows read | wall s | rows/s | cpu s | cores | peak MB | load |
|---|---:|---:|---:|---:|---:|---:|---:|
""" + "\n".join(lines) + f"\n{END}\n"
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    if MARK in text:
        text = text[:text.index(MARK)] + section + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")

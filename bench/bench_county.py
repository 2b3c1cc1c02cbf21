"""Issue 19: the county measured whole, each row of the issue's table as the user runs it.

    .venv/bin/python bench/bench_county.py                       # 500,000 residents, 25 townships
    .venv/bin/python bench/bench_county.py --residents 20000 --townships 1 --out /tmp/county.md

Generates an independent county (``hub synth``, days 0-2; day 2 held back), serves its public-security
API over loopback, then times whole ``hub`` commands in child processes, start to exit:

1. a fresh store: ``hub sync --all`` (every source synced, then resolved),
2. ``hub sync --all`` again with nothing new,
3. one more day of changes delivered (day 2: population rows, a fire folder, a dispute log...): ``hub sync --all``,
4. a single changed row (one resident's phone in the population database): ``hub sync --all``,
5. nothing new once more: ``hub sync --all``,
6. the population source alone into a fresh store (``hub sync population --no-resolve``) beside dlt 1.31
   (``sql_table``, pyarrow backend -> SQLite through its sqlalchemy destination) reading the same database,
7. the read API (``hub serve``) beside datasette (``datasette serve -i``) on the county's store, with wrk.

Needs ``wrk`` (Debian), datasette in bench/.venv-datasette and dlt in bench/.venv-dlt (see the results file).
Writes bench/results/county.md beside the issue's figures from before this work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_api  # noqa: E402  (wrk, server start-up)

HUB = str(ROOT / ".venv" / "bin" / "hub")
DLT_PY = ROOT / "bench" / ".venv-dlt" / "bin" / "python"
TOKEN = "county-bench-token"
SECRET = "county-bench-secret"
ENV = {**os.environ, "HUB_SECRET_KEY": SECRET, "PUBLIC_SECURITY_TOKEN": TOKEN, "COLUMNS": "200"}
# the figures, measured at the start of this work on a 500,000-resident county (25 townships)
BEFORE = {
    "fresh": "223–244 s (load 76, resolve 145)", "day": "sync 10.7 s + resolve 44 s", "row": "~40 s of resolve",
    "nothing": "8 s without resolve, 44–53 s with it", "load": "13,670 rows/s = 0.28× dlt (49,255); one core; 2.3 GB",
    "person": "0.99× datasette (777 vs 787 req/s)", "page": "p99 29 ms",
}
GOAL = {"fresh": "≤ 180 s, then ≤ 120 s", "day": "≤ 10 s in all", "row": "≤ 2 s", "nothing": "≤ 3 s",
        "load": "≥ 2× dlt, both cores, ≤ 1 GB", "person": "≥ 1.5× datasette", "page": "p99 ≤ 20 ms"}
DLT_CHILD = """
import sys, time, dlt
from dlt.sources.sql_database import sql_table
src, dst = sys.argv[1], sys.argv[2]
pipeline = dlt.pipeline(pipeline_name="county_bench", destination=dlt.destinations.sqlalchemy(f"sqlite:///{dst}"),
                        dataset_name="population", pipelines_dir=sys.argv[3])
t0 = time.perf_counter()
info = pipeline.run([sql_table(credentials=f"sqlite:///{src}", table=t, backend="pyarrow") for t in ("t_rk_ry", "t_rk_hu")])
print(time.perf_counter() - t0)
"""


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> dict:
    """Wall time, CPU time (user+sys) and peak memory of one child process, start to exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd or ROOT, env=env or ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    chunks = []
    assert proc.stdout is not None
    for line in proc.stdout:
        chunks.append(line)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    out = "".join(chunks)
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out[-3000:]}")
    return {"wall": wall, "out": out, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def resolve_seconds(out: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^resolve (\w+) \(([\d.]+)s\)", out, re.M)}


def read_counts(out: str) -> int:
    return sum(int(n) for n in re.findall(r": read (\d+),", out))


def sync_all(folder: Path) -> dict:
    result = run([HUB, "--config", str(folder / "hub.yaml"), "sync", "--all"])
    result["resolve"] = resolve_seconds(result["out"])
    result["read"] = read_counts(result["out"])
    result["skipped"] = "(skipped)" in result["out"]
    return result


def generate(folder: Path, residents: int, townships: int) -> float:
    if (folder / "truth" / "days.json").exists() and (folder / "population.db").exists():
        return 0.0
    shutil.rmtree(folder, ignore_errors=True)
    return run([HUB, "synth", "--out", str(folder), "--residents", str(residents), "--townships", str(townships),
                "--days", "2"])["wall"]


def change_one_row(folder: Path) -> str:
    """One resident's phone changes in the population database, stamped with Beijing's clock as its system does."""
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(folder / "population.db") as conn:
        ryid = conn.execute("SELECT ryid FROM t_rk_ry WHERE zxbz IS NULL OR zxbz != '1' ORDER BY ryid LIMIT 1 "
                            "OFFSET (SELECT COUNT(*) / 2 FROM t_rk_ry)").fetchone()[0]
        conn.execute("UPDATE t_rk_ry SET lxdh = ?, gxsj = ? WHERE ryid = ?", ("13900001234", now, ryid))
    return str(ryid)


def population_beside_dlt(folder: Path) -> dict:
    """The population source alone into a fresh store, then dlt into a fresh SQLite file, same input."""
    work = folder / "load-only"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    (work / "hub.yaml").write_text(
        "database: sqlite:///var/hub.db\nlanding: var/landing\nsources:\n"
        f'  population: {{connector: population, url: "sqlite:///{folder / "population.db"}"}}\n', encoding="utf-8")
    ours = run([HUB, "--config", str(work / "hub.yaml"), "sync", "population", "--no-resolve"])
    ours["rows"] = read_counts(ours["out"])
    out: dict = {"ours": ours}
    if DLT_PY.exists():
        dlt = run([str(DLT_PY), "-c", DLT_CHILD, str(folder / "population.db"), str(work / "dlt.db"),
                   str(work / "dlt-pipelines")])
        with sqlite3.connect(folder / "population.db") as conn:
            dlt["rows"] = sum(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("t_rk_ry", "t_rk_hu"))
        out["dlt"] = dlt
    shutil.rmtree(work, ignore_errors=True)
    return out


def api_beside_datasette(folder: Path, seconds: int) -> dict:
    db = folder / "var" / "hub.db"
    code = f"""
import json
from sqlalchemy import func, select
from hub.api.keys import SCOPES, create_key
from hub.db.models import Person
from hub.db.session import transaction
with transaction("sqlite:///{db}") as s:
    key = create_key(s, "county-bench-{int(time.time())}", [x for x in SCOPES if x != "read:pii"])
    ids = list(s.scalars(select(Person.id)))
    villages = s.execute(select(func.substr(Person.grid_code, 1, 12), func.count()).where(Person.grid_code.is_not(None))
                         .group_by(func.substr(Person.grid_code, 1, 12)).order_by(func.count().desc()).limit(1)).one()
print(json.dumps({{"key": key, "ids": ids, "village": villages[0], "village_n": villages[1]}}))
"""
    info = json.loads(run([str(ROOT / ".venv" / "bin" / "python"), "-c", code])["out"].strip().splitlines()[-1])
    rng = random.Random(7)
    person_paths = [f"/persons/{p}" for p in rng.sample(info["ids"], min(2000, len(info["ids"])))]
    auth = {"Authorization": f"Bearer {info['key']}"}
    cfg = folder / "api.yaml"
    cfg.write_text(f"database: sqlite:///{db}\nlanding: var/landing\napi: {{rate_limit_per_minute: 100000000}}\n",
                   encoding="utf-8")
    port = bench_api.free_port()
    api = bench_api.start([HUB, "--config", str(cfg), "--quiet", "serve", "--port", str(port)], port, "/health",
                          env={"HUB_SECRET_KEY": SECRET})
    results: dict = {}
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        page_paths, cursor = [f"/persons?grid={info['village']}&limit=50"], None
        for _ in range(40):
            r = httpx.get(base + "/persons", params={"grid": info["village"], "limit": 50,
                                                     **({"cursor": cursor} if cursor else {})}, headers=auth, timeout=30)
            r.raise_for_status()
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
            page_paths.append(f"/persons?grid={info['village']}&limit=50&cursor={cursor}")
        bench_api.wrk(base, person_paths, 4, 3, auth)  # warm-up
        results["api person c32"] = bench_api.wrk(base, person_paths, 32, seconds, auth)
        results["api page c4"] = bench_api.wrk(base, page_paths, 4, seconds, auth)
    finally:
        api.terminate()
        api.wait(timeout=60)
    dport = bench_api.free_port()
    ds = bench_api.start([str(bench_api.DATASETTE), "serve", "-i", str(db), "--port", str(dport)], dport,
                         "/-/versions.json")
    try:
        ds_paths = [f"/{db.stem}/person/{p.split('/')[-1]}.json" for p in person_paths]
        dbase = f"http://127.0.0.1:{dport}"
        bench_api.wrk(dbase, ds_paths, 4, 3, {})
        results["datasette person c32"] = bench_api.wrk(dbase, ds_paths, 32, seconds, {})
    finally:
        ds.terminate()
        ds.wait(timeout=30)
    results["village"], results["village_n"] = info["village"], info["village_n"]
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=500_000)
    ap.add_argument("--townships", type=int, default=25)
    ap.add_argument("--folder", type=Path, help="where the county lives (kept and reused: generation is not timed)")
    ap.add_argument("--seconds", type=int, default=15, help="each wrk run")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "county.md")
    args = ap.parse_args()
    for need, hint in ((shutil.which("wrk"), "apt-get install -y wrk"),
                       (bench_api.DATASETTE.exists(), "python3 -m venv bench/.venv-datasette && "
                                                      "bench/.venv-datasette/bin/pip install datasette==0.65.5")):
        if not need:
            sys.exit(f"error: missing: {hint}")
    folder = (args.folder or ROOT / "bench" / "work" / f"county-{args.residents}x{args.townships}").resolve()
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    gen_s = generate(folder, args.residents, args.townships)

    from bench_resolve import hide_last_day, hold_population_day

    from hub.synth.server import start_in_thread

    shutil.rmtree(folder / "var", ignore_errors=True)  # a fresh store every run
    stash = folder.parent / (folder.name + "-day2")
    moved = hide_last_day(folder, stash)
    restore_population = hold_population_day(folder)
    held_back = None
    url, handle = start_in_thread(folder, TOKEN, rate_limit_per_s=1e6, fail_rate=0.0, day=1)
    cfg = folder / "hub.yaml"
    cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                   encoding="utf-8")
    rows: dict = {}
    try:
        rows["fresh"] = sync_all(folder)
        rows["nothing-first"] = sync_all(folder)
        for dst, src in moved:
            shutil.move(str(dst), str(src))
        held_back = restore_population()
        handle.set_day(2)
        rows["day"] = sync_all(folder)
        rows["day"]["population_rows"] = held_back
        rows["row-key"] = change_one_row(folder)
        rows["row"] = sync_all(folder)
        rows["nothing"] = sync_all(folder)
    finally:
        handle()
        if held_back is None:
            restore_population()
        for dst, src in moved:  # leave the county whole for the next run
            if dst.exists():
                shutil.move(str(dst), str(src))
    load = population_beside_dlt(folder)
    api = api_beside_datasette(folder, args.seconds)
    load_after = "/".join(f"{x:.1f}" for x in os.getloadavg())
    write(args, folder, started, gen_s, load_before, load_after, rows, load, api)


def _sync_cell(r: dict) -> str:
    res = r["resolve"]
    total = sum(res.values())
    parts = ", ".join(f"{k} {v:.1f}" for k, v in res.items() if v >= 0.05)
    inner = f" (resolve {total:.1f} s: {parts})" if res else " (resolve skipped)" if r["skipped"] else ""
    return f"{r['wall']:.1f} s{inner}; {r['read']:,} rows read; peak {r['peak_mb']:,.0f} MB"


def write(args, folder: Path, started: str, gen_s: float, load_before: str, load_after: str,  # type: ignore[no-untyped-def]
          rows: dict, load: dict, api: dict) -> None:
    ours, dlt = load["ours"], load.get("dlt")
    ours_rps = ours["rows"] / ours["wall"]
    load_cell = (f"{ours_rps:,.0f} rows/s ({ours['rows']:,} rows in {ours['wall']:.1f} s, CPU {ours['cpu'] / ours['wall']:.2f} "
                 f"cores, peak {ours['peak_mb']:,.0f} MB)")
    if dlt:
        dlt_rps = dlt["rows"] / dlt["wall"]
        load_cell += (f" = **{ours_rps / dlt_rps:.2f}× dlt** ({dlt_rps:,.0f} rows/s, CPU {dlt['cpu'] / dlt['wall']:.2f} cores, "
                      f"peak {dlt['peak_mb']:,.0f} MB)")
    else:
        load_cell += "; dlt not installed (bench/.venv-dlt), no comparison"
    p, d, g = api["api person c32"], api["datasette person c32"], api["api page c4"]
    table = [
        ("fresh store → all six sources synced and resolved (`hub sync --all`)", "fresh", _sync_cell(rows["fresh"])),
        (f"one more day of changes synced and resolved (`hub sync --all`; {rows['day']['population_rows']:,} "
         "population rows among them)", "day", _sync_cell(rows["day"])),
        (f"a single changed row (population resident {rows['row-key']}'s phone; `hub sync --all`)", "row",
         _sync_cell(rows["row"])),
        ("`hub sync --all` with nothing new", "nothing",
         f"{_sync_cell(rows['nothing'])} (right after the fresh sync: {rows['nothing-first']['wall']:.1f} s)"),
        ("population source load beside dlt 1.31 on the same database", "load", load_cell),
        ("`/persons/{id}`, 32 concurrent, beside datasette on the same store", "person",
         f"**{p['rps'] / d['rps']:.2f}×** ({p['rps']:,.0f} vs {d['rps']:,.0f} req/s; p99 {p['p99']:.0f} vs {d['p99']:.0f} ms)"),
        ("`/persons?grid=…&limit=50`, 4 concurrent", "page",
         f"p99 **{g['p99']:.1f} ms** (p50 {g['p50']:.1f} ms, {g['rps']:,.0f} req/s; village of {api['village_n']:,})"),
    ]
    lines = [
        "# The county, measured whole (issue 19)", "",
        f"County: {args.residents:,} residents, {args.townships} township(s), days 0–2 (`hub synth`, seed 7), in "
        f"`{folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder}`"
        + (f"; generated in {gen_s:.0f} s (not timed below)." if gen_s else "; reused (generation not timed)."),
        f"Measured {started} on {os.cpu_count()} cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}; load average {load_before} (1/5/15 min) before, {load_after} after.",
        "Every figure is a whole command in a child process, start to exit (Python start-up and imports "
        "included), or wrk against a running server.", "",
        "| work | before (issue, 500k) | goal | after (this run) |", "|---|---|---|---|",
    ]
    lines += [f"| {work} | {BEFORE[k]} | {GOAL[k]} | {cell} |" for work, k, cell in table]
    lines += ["", f"Reproduce: `.venv/bin/python bench/bench_county.py --residents {args.residents} "
                  f"--townships {args.townships}` (needs `wrk`, bench/.venv-datasette with datasette 0.65.5 and "
                  "bench/.venv-dlt with `dlt[sqlalchemy]==1.31.*` and pyarrow).", ""]
    head = "\n".join(lines) + "\n"
    args.out.write_text(merged(args.out.read_text(encoding="utf-8") if args.out.exists() else "", head),
                        encoding="utf-8")
    print(head)


KEPT = "<!-- bench/bench_county.py writes everything above this line and keeps what follows -->"
PREVIOUS = "## The previous runs"


def merged(old: str, head: str) -> str:
    """The new figures on top; the prose below the marker kept; the replaced run's table moved to the
    previous runs, so a re-run never loses what the reasons below refer to."""
    if KEPT not in old:
        return f"{head}\n{KEPT}\n"
    old_head, tail = old.split(KEPT, 1)
    measured = next((ln for ln in old_head.splitlines() if ln.startswith("Measured ")), "An earlier run.")
    table = "\n".join(ln for ln in old_head.splitlines() if ln.startswith("|"))
    earlier = f"{measured}\n\n{table}\n"
    if PREVIOUS in tail:
        before, after = tail.split(PREVIOUS, 1)
        tail = f"{before}{PREVIOUS}\n\n{earlier}{after}"
    else:
        tail = f"{tail.rstrip()}\n\n{PREVIOUS}\n\n{earlier}"
    return f"{head}\n{KEPT}{tail}"


if __name__ == "__main__":
    main()

"""Benchmark the population connector on a county-scale (500,000-resident) synthetic registry.

Measures, each in a fresh child process so peak RSS is that run's own:
- connector read throughput (rows/s) of a full read of both tables, at two batch sizes;
- the same read on a 100k-person copy, to show peak memory does not grow with table size;
- the hub's extract stage (read + Arrow files in the landing zone);
- a no-change incremental ``sync`` (state committed at the head; extract -> validate -> load);
- optionally the same full read from the machine's MariaDB (``--mariadb URL``).

With ``--load`` it measures instead what a user waits for (issue 19), each a whole command in a
child process (start-up and imports included), CPU as user+sys of the command and every process it
started, memory as the sampled sum of their RSS:
- ``hub --config X sync population --no-resolve`` into a fresh store beside dlt 1.31 (``sql_table``,
  pyarrow backend -> SQLite, bench/.venv-dlt) on the same database, alternately, ``--rounds`` times;
- ``hub sync population --no-resolve`` with nothing new, where the source's settle window holds rows
  the last run read (the connector reads them again on purpose);
and writes them as a section of bench/results/population.md (earlier sections stay).

The synthetic county is generated once under bench/work/ (git-ignored) and reused.
Usage: python bench/bench_population.py [--residents 500000] [--mariadb mysql+pymysql://root@127.0.0.1:3306/test]
       python bench/bench_population.py --load [--residents 100000] [--rounds 2] [--hub PATH-TO-hub]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
WORK = HERE / "work"

CHILD = r"""
import json, os, resource, sys, time, tempfile
from pathlib import Path
mode, url, batch, state_json = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tmp = Path(tempfile.mkdtemp(prefix="bench-pop-"))
(tmp / "hub.yaml").write_text(f'sources:\n  population: {{connector: population, url: "{url}", batch_size: {batch}}}\n')
os.environ.update(HUB_SECRET_KEY="bench", HUB_DATABASE=f"sqlite:///{tmp}/store.db", HUB_LANDING=str(tmp / "landing"))
from hub.context import HubContext
import pandas, pyarrow as pa  # warm-up: pyarrow imports pandas on its first array; not part of a read
pa.array(["warm-up"])
ctx = HubContext.from_config(tmp / "hub.yaml")
states = json.loads(state_json)
out = {"streams": {}}
if mode == "read":
    spec, connector = ctx.source("population")
    t, c = time.perf_counter(), time.process_time()
    for stream in connector.streams(spec):
        rows, batches, last = 0, 0, {}
        for b in stream.read(states.get(stream.name, {})):
            rows += b.records.num_rows; batches += 1; last = b.state
        out["streams"][stream.name] = {"rows": rows, "batches": batches, "state": last}
    out["seconds"], out["cpu"] = time.perf_counter() - t, time.process_time() - c
elif mode == "extract":
    from hub.stages import extract
    ctx.ensure_store()
    t, c = time.perf_counter(), time.process_time()
    info = extract(ctx, "population", "bench-run")
    out["seconds"], out["cpu"] = time.perf_counter() - t, time.process_time() - c
    out["streams"] = {k: {"rows": v.rows, "files": v.files} for k, v in info.streams.items()}
elif mode == "nochange":
    from hub.db.models import StreamState
    from hub.db.session import transaction
    from hub.stages import sync
    ctx.ensure_store()
    with transaction(ctx.db_url) as s:
        for name, st in states.items():
            s.add(StreamState(source="population", stream=name, state=st, run_id="bench"))
    t, c = time.perf_counter(), time.process_time()
    info = sync(ctx, "population", resolve=False)
    out["seconds"], out["cpu"] = time.perf_counter() - t, time.process_time() - c
    out["streams"] = {k: {"rows": v.rows} for k, v in info.extract.streams.items()}
    t, c = time.perf_counter(), time.process_time()
    again = sync(ctx, "population", resolve=False)
    out["warm"] = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "rows": again.extract.rows}
out["rows"] = sum(s["rows"] for s in out["streams"].values())
# VmHWM: this process's own peak (ru_maxrss would carry over the parent's across exec)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
out["peak_rss_mb"] = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out, ensure_ascii=False))
"""


def child(mode: str, url: str, batch: int, states: dict | None = None) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, url, str(batch), json.dumps(states or {})],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"child {mode} failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_with_import"] = time.perf_counter() - t
    return result


def county(residents: int) -> Path:
    """The synthetic county, generated once (about 40 s and 1.2 GB RSS at 500k)."""
    out = WORK / f"county-{residents}"
    if not (out / "population.db").is_file():
        from hub.synth import generate

        t = time.perf_counter()
        generate(out, seed=7, residents=residents, days=3)
        print(f"generated {out} in {time.perf_counter() - t:.1f} s", flush=True)
    return out / "population.db"


def subset(db: Path, persons: int) -> Path:
    """A copy holding the first `persons` persons and their households (same shape, smaller)."""
    small = db.with_name(f"population-{persons}.db")
    if small.exists():
        return small
    con = sqlite3.connect(small)
    con.execute(f"ATTACH DATABASE '{db}' AS big")
    con.execute("CREATE TABLE t_rk_ry AS SELECT * FROM big.t_rk_ry ORDER BY ryid LIMIT ?", (persons,))
    con.execute("CREATE TABLE t_rk_hu AS SELECT * FROM big.t_rk_hu WHERE hh IN (SELECT hh FROM t_rk_ry)")
    con.commit()
    con.close()
    return small


def copy_to_mariadb(db: Path, admin_url: str) -> str:
    from sqlalchemy import create_engine, insert, select, text

    from hub.synth.population import metadata, t_rk_hu, t_rk_ry

    url = admin_url.rsplit("/", 1)[0] + "/gridhub_bench_population?charset=utf8mb4"
    with sqlite3.connect(db) as con:
        want = con.execute("SELECT COUNT(*) FROM t_rk_ry").fetchone()[0]
    try:
        probe = create_engine(url)
        with probe.connect() as conn:
            if conn.execute(text("SELECT COUNT(*) FROM t_rk_ry")).scalar() == want:
                return url  # copied by an earlier run
    except Exception:  # noqa: BLE001 - not there yet: copy it
        pass
    finally:
        probe.dispose()
    admin = create_engine(admin_url)
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS gridhub_bench_population"))
        conn.execute(text("CREATE DATABASE gridhub_bench_population CHARACTER SET utf8mb4"))
    admin.dispose()
    src, dst = create_engine(f"sqlite:///{db}"), create_engine(url)
    metadata.create_all(dst)
    t = time.perf_counter()
    with src.connect() as s, dst.begin() as d:
        for tbl in (t_rk_hu, t_rk_ry):
            result = s.execution_options(yield_per=20_000).execute(select(tbl))
            for part in result.partitions():
                d.execute(insert(tbl), [dict(r._mapping) for r in part])
    print(f"copied to MariaDB in {time.perf_counter() - t:.1f} s", flush=True)
    return url


def line(label: str, r: dict) -> str:
    rate = r["rows"] / r["seconds"] if r["seconds"] and r["rows"] else 0
    cpu_rate = r["rows"] / r["cpu"] if r["cpu"] and r["rows"] else 0
    return (f"| {label} | {r['rows']:,} | {r['seconds']:.2f} | {rate:,.0f} | {r['cpu']:.2f} | {cpu_rate:,.0f} | "
            f"{r['peak_rss_mb']:.0f} | {r['wall_with_import']:.2f} |")


def notes(full: dict, small: dict, sync_none: dict) -> str:
    big = full[20_000]
    cpu_rate = big["rows"] / big["cpu"]
    return f"""
## Reading the numbers

- **Throughput.** Wall-clock rows/s depends on how many processes share the 2 cores (see the load
  average above). Rows per CPU-second is what the read does when it has a core: {cpu_rate:,.0f} rows/s
  for SQLite (the SQLite engine runs in-process, so its work is included), against the target of
  100,000 rows/s. By CPU time the read would meet the target on an uncontended core (not measured
  on an idle machine here); on this shared machine the wall-clock figure does not, as measured.
- **Memory.** Peak RSS is {small['peak_rss_mb']:.0f} MB reading the 100k-person copy and
  {big['peak_rss_mb']:.0f} MB reading the full table at the same batch size: it does not grow with the
  table, only with `batch_size` ({full[50_000]['peak_rss_mb']:.0f} MB at 50,000). About 150 MB of it is
  the interpreter and imports (the no-change read's figure).
- **No-change run.** The connector's two queries scan both tables (the vendor schema has no index
  on `gxsj`; with an index on `(gxsj, key)` they would be instant). The first `sync` in a fresh
  process took {sync_none['seconds']:.1f} s mostly in first-use imports of the later stages (the
  connector's read is the line above it); modules compile from source here (`PYTHONDONTWRITEBYTECODE=1`,
  no `.pyc` in the venv); the
  second took {sync_none['warm']['seconds']:.2f} s.
- **MariaDB** is read through pymysql (pure Python) with an unbuffered server-side cursor; its
  client-side CPU per row is about twice SQLite's. The database server's CPU is not counted.
"""


def main() -> None:
    global WORK
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=500_000)
    ap.add_argument("--mariadb", help="admin SQLAlchemy URL of a MariaDB to copy the tables into and read")
    ap.add_argument("--out", default=str(HERE / "results" / "population.md"))
    ap.add_argument("--load", action="store_true", help="the whole sync command beside dlt, and nothing new")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hub", default=str(HERE.parent / ".venv" / "bin" / "hub"), help="the hub command to measure")
    ap.add_argument("--work", default=str(WORK), help="where the synthetic county and the runs' folders go")
    ap.add_argument("--fresh-only", action="store_true", help="without the nothing-new runs (a fresh sync each)")
    args = ap.parse_args()
    WORK = Path(args.work)
    if args.load:
        from bench_population_load import measure

        measure(county(args.residents), args.residents, args.rounds, args.hub, Path(args.out), WORK,
                nothing=not args.fresh_only)
        return
    db = county(args.residents)
    url = f"sqlite:///{db.resolve()}"
    rows: list[str] = []
    full = {}
    for batch in (20_000, 50_000):
        full[batch] = child("read", url, batch)
        rows.append(line(f"SQLite full read, batch {batch:,}", full[batch]))
        print(rows[-1], flush=True)
    small = child("read", f"sqlite:///{subset(db, 100_000).resolve()}", 20_000)
    rows.append(line("SQLite full read, 100k-person copy, batch 20,000", small))
    ext = child("extract", url, 20_000)
    rows.append(line("hub extract stage (read + Arrow landing files), batch 20,000", ext))
    head = {k: v["state"] for k, v in full[20_000]["streams"].items()}
    none = child("read", url, 20_000, head)
    rows.append(line("no-change incremental read (connector)", none))
    sync_none = child("nochange", url, 20_000, head)
    rows.append(line("no-change `sync` (extract+validate+load, state at head), first in process", sync_none))
    rows.append(line("no-change `sync`, second in the same process", {**sync_none, **sync_none["warm"]}))
    if args.mariadb:
        murl = copy_to_mariadb(db, args.mariadb)
        maria = child("read", murl, 20_000)
        rows.append(line("MariaDB (pymysql, server-side cursor) full read, batch 20,000", maria))
        mnone = child("read", murl, 20_000, {k: v["state"] for k, v in maria["streams"].items()})
        rows.append(line("MariaDB no-change incremental read", mnone))
    load = os.getloadavg()
    for r in rows:
        print(r)
    persons = full[20_000]["streams"]["persons"]["rows"]
    households = full[20_000]["streams"]["households"]["rows"]
    cmd = "python bench/bench_population.py" + (" --mariadb URL" if args.mariadb else "")
    Path(args.out).write_text(f"""# population connector benchmark

Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()};
load average at the end of the run {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min: other work shared the cores).
Data: `hub.synth.generate(seed=7, residents={args.residents:,}, days=3)`: {persons:,} person rows (`t_rk_ry`)
and {households:,} household rows (`t_rk_hu`) in SQLite ({db.stat().st_size / 2**20:.0f} MB), generated
with the real generator (not replicated rows). Reproduce: `{cmd}`.

Each line is a fresh child process; *seconds* is the timed section only, *cpu s* is this process's CPU
time in it (load-independent; the database server's CPU is not included); *wall* adds interpreter
start-up and imports; *peak RSS* is that process's VmHWM (its own high-water mark).
Rows/s counts rows of both tables. Target (issue 4): ≥ 100,000 rows/s extract; memory bounded;
no-change incremental run of all five sources ≤ 5 s (this is population's share).

| run | rows | seconds | rows/s | cpu s | rows/cpu-s | peak RSS MB | wall s |
|---|---:|---:|---:|---:|---:|---:|---:|
""" + "\n".join(rows) + "\n" + notes(full, small, sync_none), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

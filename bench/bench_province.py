"""A province on PostgreSQL: raw -> linked time, whole-store resolve vs resolve by county on 1 and 2 workers.

    .venv/bin/python bench/bench_province.py --counties 4 --residents 2000 --movers 50

Synthesises the province (``hub.synth.province``), syncs every county's sources into a fresh
PostgreSQL database (partitioned by county), then resolves copies of that loaded store three ways:
one process over the whole store (``hub resolve``), and partitioned by county (``hub.province``:
prepare -> one task a county -> movers -> finish) with the county tasks on 1 and on 2 worker
processes (the same functions the Airflow tasks call, without Airflow's own scheduling overhead,
which the Celery test shows separately). Each run's crosswalk must equal the whole-store one.
Reports wall seconds per phase and each worker's peak RSS; appends to bench/results/province_runs.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = os.environ.get("HUB_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SECRET = "bench-province"


def _admin(sql: str) -> None:
    engine = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _release(url: str) -> None:
    from hub.db.session import get_engine

    get_engine(url).dispose()
    get_engine.cache_clear()


def _county_worker(config: str, database: str, county: str) -> tuple[str, float, int]:
    os.environ["HUB_DATABASE"] = database
    from hub.context import HubContext
    from hub.province.resolve import resolve_county

    started = time.monotonic()
    resolve_county(HubContext.from_config(config), county)
    return county, time.monotonic() - started, _peak_mb()


def _peak_mb() -> int:
    """This process's own high-water mark (VmHWM; ru_maxrss would carry the parent's across spawn)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def _whole(config: str, database: str) -> int:
    os.environ["HUB_DATABASE"] = database
    from hub.context import HubContext
    from hub.resolve import resolve

    resolve(HubContext.from_config(config))
    return _peak_mb()


def _by_county(config: Path, database: str, workers: int) -> dict[str, object]:
    from hub.context import HubContext
    from hub.province import resolve as by_county

    os.environ["HUB_DATABASE"] = database
    ctx = HubContext.from_config(config)
    phases: dict[str, float] = {}
    t = time.monotonic()
    by_county.prepare(ctx)
    phases["prepare"] = time.monotonic() - t
    t = time.monotonic()
    # spawned, like a Celery worker: a forked child would share this process's database connections
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_county_worker, [str(config)] * len(by_county.counties(ctx)),
                             [database] * len(by_county.counties(ctx)), by_county.counties(ctx)))
    phases["counties"] = time.monotonic() - t
    t = time.monotonic()
    movers = by_county.link_movers(ctx)
    phases["movers"] = time.monotonic() - t
    t = time.monotonic()
    by_county.finish(ctx)
    phases["finish"] = time.monotonic() - t
    return {"phases": phases, "county_seconds": {c: s for c, s, _ in done},
            "peak_mb": max(m for _, _, m in done), "merged": movers.get("person_merged", 0)}


def _hold_last_day(out: Path) -> list[tuple[Path, Path]]:
    """Move each county's last-day files aside (the population database carries every day's rows)."""
    from bench_resolve import hide_last_day

    moved: list[tuple[Path, Path]] = []
    for county in sorted(p for p in out.iterdir() if (p / "truth" / "days.json").exists()):
        moved += hide_last_day(county, out.parent / (out.name + "-day") / county.name)
    return moved


def _incremental_day(config: Path, database: str, held: list[tuple[Path, Path]]) -> str:
    """Deliver the held-back day into the last resolved copy: sync, then resolve by county on 2 workers."""
    from tests.province.conftest import sync_province

    for stashed, home in held:
        home.parent.mkdir(parents=True, exist_ok=True)
        stashed.rename(home)
    os.environ["HUB_DATABASE"] = database
    load = os.getloadavg()[0]
    t = time.monotonic()
    sync_province(config)
    sync_s = time.monotonic() - t
    _release(database)
    r = _by_county(config, database, 2)
    resolve_s = time.monotonic() - t - sync_s
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items())
    return (f"- incremental day ({len(held)} files of the last day, every county): sync {sync_s:.1f} s + resolve by "
            f"county (2 workers) {resolve_s:.1f} s; {phases}; peak RSS a worker {r['peak_mb']} MB; "
            f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--movers", type=int, default=50)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "province")
    parser.add_argument("--modes", default="whole,county-1,county-2",
                        help="which resolves to time, comma-separated (at 1M the whole-store one may be left out)")
    parser.add_argument("--reuse", default="",
                        help="the tag of a province this script synthesised before under --work (skips synth)")
    parser.add_argument("--day", action="store_true",
                        help="hold the last day's files back, then deliver them: sync + resolve by county (2 workers)")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    os.environ["HUB_SECRET_KEY"] = SECRET
    from hub.context import HubContext
    from hub.resolve.crosswalk import export_links
    from hub.synth.province import generate_province
    from tests.province.conftest import sync_province

    tag = secrets.token_hex(3)
    loaded = f"gridhub_bench_prov_{tag}"
    _admin(f'CREATE DATABASE "{loaded}"')
    copies: list[str] = []
    try:
        out = args.work / (args.reuse or tag)
        t = time.monotonic()
        if args.reuse:  # its last day was held back then, if --day
            stash = out.parent / (out.name + "-day")
            held = [(f, out / f.relative_to(stash)) for f in sorted(stash.rglob("*")) if f.is_file()]
            movers = len(json.loads((out / "movers.json").read_text("utf-8")))
        else:
            summary = generate_province(out, counties=args.counties, residents=args.residents,
                                        days=max(args.days, 2) if args.day else args.days, movers=args.movers)
            held = _hold_last_day(out) if args.day else []
            movers = summary.movers
        synth_s = time.monotonic() - t
        config = out / "hub.yaml"
        os.environ["HUB_DATABASE"] = f"{PG}/{loaded}"
        t = time.monotonic()
        sync_province(config)
        sync_s = time.monotonic() - t
        print(f"progress: synth {synth_s:.1f} s, sync {sync_s:.1f} s, load {os.getloadavg()}", flush=True)
        _release(f"{PG}/{loaded}")
        results: dict[str, dict] = {}
        crosswalks: dict[str, str] = {}
        for mode in modes:
            name = f"{loaded}_{mode.replace('-', '_')}"
            _admin(f'CREATE DATABASE "{name}" TEMPLATE "{loaded}"')
            copies.append(name)
            url = f"{PG}/{name}"
            t = time.monotonic()
            load = os.getloadavg()[0]
            if mode == "whole":  # in a process of its own, as the county tasks are
                with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    results[mode] = {"peak_mb": pool.submit(_whole, str(config), url).result()}
            else:
                results[mode] = _by_county(config, url, int(mode[-1]))
            results[mode]["seconds"] = time.monotonic() - t
            results[mode]["load"] = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
            print(f"progress: {mode} {results[mode]}", flush=True)
            os.environ["HUB_DATABASE"] = url
            export_links(HubContext.from_config(config), out / f"links-{mode}.csv")
            crosswalks[mode] = (out / f"links-{mode}.csv").read_text("utf-8")
            _release(url)
        first = modes[0]
        same = all(c == crosswalks[first] for c in crosswalks.values())
        lines = [f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.counties} counties x "
                 f"{args.residents} residents, {movers} movers, {max(args.days, 2) if args.day else args.days} days "
                 f"(PostgreSQL, 2 cores)\n",
                 f"- synth {synth_s:.1f} s; sync of every county's sources (one process) {sync_s:.1f} s",
                 f"- crosswalks equal across the runs ({', '.join(modes)}): {same} "
                 f"({crosswalks[first].count(chr(10)) - 1} links)"]
        for mode, r in results.items():
            extra = ""
            if "phases" in r:
                extra = "; " + ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items()) + \
                        f"; slowest county {max(r['county_seconds'].values()):.1f} s; merged {r['merged']}"
            lines.append(f"- {mode}: resolve {r['seconds']:.1f} s, peak RSS a worker {r['peak_mb']} MB{extra}; "
                         f"load average {r['load']}")
        if held:
            lines.append(_incremental_day(config, f"{PG}/{copies[-1]}", held))
        report = "\n".join(lines) + "\n"
        print(report)
        with (ROOT / "bench" / "results" / "province_runs.md").open("a", encoding="utf-8") as fh:
            fh.write(report)
        if not same:
            raise SystemExit("crosswalks differ between the whole-store and the by-county resolve")
    finally:
        for name in [*copies, loaded]:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

"""A province through Airflow on Celery workers, timed as an operator waits for it (issue 20, item 3).

    .venv/bin/python bench/bench_province_celery.py --counties 4 --residents 250000 --movers 3000

Airflow's API server, scheduler, DAG processor and Celery workers run as processes of their own on this
machine (PostgreSQL metadata DB and store, Redis broker: ``tests/dags/cluster.py``, as the scale-out test).

1. every county's sync DAGs are triggered at once on two workers; the resolve DAG starts by itself from
   their Asset events, waits for the wave of syncs, then resolves county by county: raw -> linked is from
   the first trigger to the end of the resolve run that linked them;
2. the resolve is reset (every table resolve writes emptied, its landing files removed) and the resolve
   DAG triggered again with one worker stopped: one worker vs two; the two crosswalks must be equal;
3. the second worker back, each county's held-back last day delivered: its sync DAGs and the resolve.

Figures come from Airflow's own records (dag_run, task_instance: start and end of each run and task, the
worker that ran it); peak memory from sampling each worker's process tree every second.
Appends its report to bench/results/province_runs.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
PG = os.environ.get("HUB_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SECRET = "bench-province-celery"
RESOLVE = "gridhub_resolve"
REDIS_DB = 9
# every table resolve writes is emptied between the two resolves: the second starts from the loaded records
LOADED = {"source_record", "run", "run_stream", "stream_state", "quarantine", "alembic_version"}


def _admin(sql: str) -> None:
    engine = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


class PeakMemory:
    """The largest resident set of each worker's process tree (the Celery worker, its pool child, the task
    supervisor and the task process), sampled every second while the bench runs."""

    def __init__(self) -> None:
        self.peak: dict[str, int] = defaultdict(int)
        self.watched: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, name: str, pid: int) -> None:
        self.watched[name] = pid

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for name, pid in list(self.watched.items()):
                try:
                    root = psutil.Process(pid)
                    tree = [root, *root.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in tree if p.is_running())
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak[name], rss // 2**20)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _runs(meta, dag_like: str, since: float) -> list:  # type: ignore[no-untyped-def]
    with meta.connect() as conn:
        return conn.execute(text(
            "SELECT dag_id, run_id, run_type, state, start_date, end_date FROM dag_run WHERE dag_id LIKE :d "
            "AND start_date >= to_timestamp(:t) ORDER BY start_date"), {"d": dag_like, "t": since}).all()


def _tasks(meta, run_id: str) -> list:  # type: ignore[no-untyped-def]
    with meta.connect() as conn:
        return conn.execute(text(
            "SELECT task_id, map_index, state, start_date, end_date, hostname, queued_by_job_id FROM task_instance "
            "WHERE dag_id = :d AND run_id = :r ORDER BY start_date"), {"d": RESOLVE, "r": run_id}).all()


def _resolve_lines(meta, since: float) -> tuple[list[str], float | None, float | None]:  # type: ignore[no-untyped-def]
    """One line a resolve run since ``since`` (its tasks' durations), the end of the run that linked, and
    that run's prepare-to-finish seconds."""
    lines, linked_end, work_s = [], None, None
    for run in _runs(meta, RESOLVE, since):
        tis = [t for t in _tasks(meta, run.run_id) if t.start_date and t.end_date]
        by_task: dict[str, list[float]] = defaultdict(list)
        for t in tis:
            by_task[t.task_id].append((t.end_date - t.start_date).total_seconds())
        parts = ", ".join(f"{k} {max(v):.1f} s" + (f" (x{len(v)}, sum {sum(v):.1f})" if len(v) > 1 else "")
                          for k, v in by_task.items())
        seconds = (run.end_date - run.start_date).total_seconds() if run.end_date else float("nan")
        lines.append(f"  - run {run.run_type}, {run.state}, {seconds:.1f} s: {parts}")
        prepare = [t for t in tis if t.task_id == "prepare"]
        finish = [t for t in tis if t.task_id == "finish"]
        counties = [t for t in tis if t.task_id == "resolve_county"]
        if prepare and finish and counties and linked_end is None:
            linked_end = finish[0].end_date.timestamp()
            work_s = (finish[0].end_date - prepare[0].start_date).total_seconds()
    return lines, linked_end, work_s


def _wave(cluster, dags: list[str]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Trigger every sync DAG at once; returns (start, the last sync run's end) as epoch seconds."""
    start = time.time()
    cluster.trigger(*dags)
    for dag_id in dags:
        cluster.wait_for_run(dag_id, timeout=4 * 3600)
    cluster.quiet(RESOLVE, timeout=6 * 3600)
    with cluster.meta.connect() as conn:
        end = conn.execute(text("SELECT max(end_date) FROM dag_run WHERE dag_id LIKE 'gridhub_sync__%' AND "
                                "start_date >= to_timestamp(:t)"), {"t": start}).scalar()
    return start, end.timestamp()


def _reset_resolve(store_url: str, landing: Path) -> None:
    engine = create_engine(store_url)
    with engine.begin() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename NOT IN (SELECT inhrelid::regclass::text FROM pg_inherits)")).scalars()
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables if t not in LOADED) + " CASCADE"))
        conn.execute(text("DELETE FROM stream_state WHERE source = 'resolve'"))
    engine.dispose()
    shutil.rmtree(landing / "_resolve", ignore_errors=True)


def _crosswalk(config: Path, store_url: str, out: Path) -> str:
    from hub.context import HubContext
    from hub.db.session import get_engine
    from hub.resolve.crosswalk import export_links

    os.environ["HUB_DATABASE"] = store_url
    export_links(HubContext.from_config(config), out)
    get_engine(store_url).dispose()
    return out.read_text("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--movers", type=int, default=50)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "province-celery")
    args = parser.parse_args()
    os.environ["HUB_SECRET_KEY"] = SECRET
    from bench_province import _hold_last_day

    from hub.synth.province import generate_province
    from tests.dags.cluster import Cluster, redis_up

    if not redis_up():
        raise SystemExit("Redis unreachable on 127.0.0.1:6379")
    tag = secrets.token_hex(3)
    meta_db, store_db = f"gridhub_bench_af_{tag}", f"gridhub_bench_store_{tag}"
    out = args.work / tag
    t = time.monotonic()
    summary = generate_province(out, counties=args.counties, residents=args.residents, days=2, movers=args.movers)
    held = _hold_last_day(out)
    synth_s = time.monotonic() - t
    config = out / "hub.yaml"
    raw = yaml.safe_load(config.read_text("utf-8"))
    for county in raw["counties"].values():  # the bench owns every run: no hourly schedule
        for spec in county["sources"].values():
            spec["schedule"] = None
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    sync_dags = sorted(f"gridhub_sync__{code}.{name}" for code, county in raw["counties"].items()
                       for name, spec in county["sources"].items() if spec.get("enabled", True))
    landing = out / raw.get("landing", "var/landing")
    for name in (meta_db, store_db):
        _admin(f'CREATE DATABASE "{name}"')
    store_url = f"{PG}/{store_db}"
    os.environ["HUB_DATABASE"] = store_url
    cluster = Cluster(out / "airflow-run", config, f"{PG}/{meta_db}", REDIS_DB,
                      {"HUB_SECRET_KEY": SECRET, "HUB_DATABASE": store_url})
    memory = PeakMemory()
    lines = [f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: through Airflow, CeleryExecutor: "
             f"{args.counties} counties x {args.residents:,} residents, {summary.movers:,} movers (PostgreSQL, "
             f"Redis, 2 cores; `bench/bench_province_celery.py`)\n",
             f"- synth {synth_s:.1f} s (not timed below); each worker `--concurrency 1`; load average at start "
             f"{os.getloadavg()[0]:.1f}"]
    try:
        cluster.start(workers=2, concurrency=1)
        for n in (1, 2):
            memory.watch(f"worker{n}", cluster.procs[f"worker{n}"].pid)
        cluster.wait_registered({*sync_dags, RESOLVE})
        # 1. raw -> linked on two workers
        start, synced = _wave(cluster, sync_dags)
        found, linked_end, work2 = _resolve_lines(cluster.meta, start)
        lines += [f"- **two workers, raw -> linked: {linked_end - start:.1f} s** (syncs {synced - start:.1f} s: "
                  f"{len(sync_dags)} sync DAG runs; the resolve run prepare -> finish {work2:.1f} s); load average "
                  f"{os.getloadavg()[0]:.1f}", *found]
        two = _crosswalk(config, store_url, out / "links-2.csv")
        # 2. the resolve again on one worker
        cluster.stop("worker2")
        _reset_resolve(store_url, landing)
        start = time.time()
        cluster.trigger(RESOLVE)
        cluster.quiet(RESOLVE, timeout=6 * 3600)
        found, _, work1 = _resolve_lines(cluster.meta, start)
        one = _crosswalk(config, store_url, out / "links-1.csv")
        lines += [f"- **one worker, the resolve again: prepare -> finish {work1:.1f} s** (two workers: {work2:.1f} s, "
                  f"{work1 / work2:.2f}x); crosswalks equal: {one == two} ({two.count(chr(10)) - 1:,} links); load "
                  f"average {os.getloadavg()[0]:.1f}", *found]
        # 3. a day: the held-back files, two workers
        cluster.start_worker(2, concurrency=1)
        memory.watch("worker2", cluster.procs["worker2"].pid)
        for stashed, home in held:
            home.parent.mkdir(parents=True, exist_ok=True)
            stashed.rename(home)
        start, synced = _wave(cluster, sync_dags)
        found, linked_end, work_day = _resolve_lines(cluster.meta, start)
        done = max(linked_end or 0, synced)
        lines += [f"- **a day** ({len(held)} held-back files of the last day, every county): {done - start:.1f} s from "
                  f"trigger to linked (syncs {synced - start:.1f} s; resolve prepare -> finish "
                  f"{(work_day or 0):.1f} s); load average {os.getloadavg()[0]:.1f}", *found]
        lines.append("- peak memory of a worker's process tree: " + ", ".join(
            f"{name} {mb:,} MB" for name, mb in sorted(memory.peak.items())) + "; tasks each worker received: "
            + ", ".join(f"worker{n} {cluster.log(f'worker{n}').count('] received')}" for n in (1, 2)))
        if one != two:
            lines.append("- **the two crosswalks differ**")
    finally:
        memory.close()
        cluster.close()
        report = "\n".join(lines) + "\n"
        print(report)
        with (ROOT / "bench" / "results" / "province_runs.md").open("a", encoding="utf-8") as fh:
            fh.write(report)
        for name in (meta_db, store_db):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

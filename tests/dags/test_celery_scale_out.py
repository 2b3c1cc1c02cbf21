"""Scale-out for real: Airflow's components as separate processes, CeleryExecutor on the machine's
Redis, PostgreSQL as both the Airflow metadata DB and the unified store.

The sync DAG is triggered; the resolve DAG must then start by itself from the Asset events the
sync published (data-aware scheduling), and every task must have gone through Celery to the worker.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.dags.cluster import Cluster, redis_up
from tests.dags.conftest import write_county

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS_DB = 7
SYNC_DAG = "gridhub_sync__grid-registry"
RESOLVE_DAG = "gridhub_resolve"

pytestmark = pytest.mark.slow


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    if not redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis unreachable on 127.0.0.1:6379 (CI=true: real servers are required)")
        pytest.skip("Redis unreachable on 127.0.0.1:6379")
    tag = secrets.token_hex(3)
    names = (f"gridhub_af_{tag}", f"gridhub_store_{tag}")
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable: {exc}")
        pytest.skip("PostgreSQL unreachable")
    try:
        yield f"{PG}/{names[0]}", f"{PG}/{names[1]}"
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()





def test_sync_and_asset_triggered_resolve_run_on_celery_workers(tmp_path: Path,
                                                                databases: tuple[str, str]) -> None:
    metadata_url, store_url = databases
    county = write_county(tmp_path / "county", database=store_url, landing=str(tmp_path / "shared-landing"),
                          schedule="null")  # runs only when triggered: the test owns every run
    cluster = Cluster(tmp_path, county / "hub.yaml", metadata_url, REDIS_DB,
                      {"AIRFLOW__CELERY__WORKER_CONCURRENCY": "2", "HUB_SECRET_KEY": "celery-scale-out-test"})
    try:
        cluster.start(workers=1)
        cluster.wait_registered({SYNC_DAG, RESOLVE_DAG})
        cluster.trigger(SYNC_DAG)
        assert cluster.wait_for_run(SYNC_DAG) == "success"
        # no trigger: the Asset events of `publish` schedule the resolve DAG
        assert cluster.wait_for_run(RESOLVE_DAG) == "success"
        with cluster.meta.connect() as conn:
            tis = conn.execute(text(
                "SELECT dag_id, task_id, state, external_executor_id, hostname FROM task_instance "
                "WHERE dag_id IN (:a, :b)"), {"a": SYNC_DAG, "b": RESOLVE_DAG}).all()
            celery_ok = conn.execute(text("SELECT count(*) FROM celery_taskmeta WHERE status = 'SUCCESS'")).scalar()
            resolve_run_type = conn.execute(text(
                "SELECT run_type FROM dag_run WHERE dag_id = :b ORDER BY id DESC LIMIT 1"), {"b": RESOLVE_DAG}).scalar()
    finally:
        cluster.close()
    assert {t.task_id for t in tis} == {"extract", "validate", "load", "publish", "syncs_settled", "resolve"}
    assert all(t.state == "success" for t in tis), tis
    # every task went through Celery: the executor recorded the Celery task id, and the result backend has it
    assert [t for t in tis if not t.external_executor_id] == []
    assert celery_ok >= len(tis)
    assert resolve_run_type == "asset_triggered"
    store = create_engine(store_url)
    with store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid_cell WHERE NOT retired")).scalar() == 10
        assert conn.execute(text("SELECT state FROM run")).scalar() == "success"
    store.dispose()


PROVINCE_YAML = """\
database: {database}
landing: {landing}
counties:
{counties}"""
COUNTY_YAML = """\
  "{code}":
    sources:
      population:    {{connector: population, url: "sqlite:///{code}/population.db", schedule: null}}
      civil-affairs: {{connector: civil-affairs, path: {code}/civil-affairs, schedule: null}}
      dispute-mediation: {{connector: dispute-mediation, path: {code}/dispute-mediation, schedule: null}}
"""
# every table resolve writes: the reference run starts from the loaded records alone
LOADED = {"source_record", "run", "run_stream", "stream_state", "quarantine", "alembic_version"}



def test_province_synced_and_resolved_by_county_on_two_celery_workers(
        tmp_path: Path, databases: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Three counties with movers: sync DAGs and the resolve DAG (one mapped task a county) on two
    Celery workers; the crosswalk equals a whole-store resolve of the same loaded records."""
    from hub.context import HubContext
    from hub.resolve import resolve
    from hub.resolve.crosswalk import export_links
    from hub.synth.province import generate_province

    metadata_url, store_url = databases
    secret = "celery-province-test"
    monkeypatch.setenv("HUB_SECRET_KEY", secret)
    province = tmp_path / "province"
    generate_province(province, counties=3, residents=300, days=0, movers=15)
    codes = sorted(p.name for p in province.iterdir() if p.is_dir())
    (province / "hub.yaml").write_text(PROVINCE_YAML.format(
        database=store_url, landing=tmp_path / "shared-landing",
        counties="".join(COUNTY_YAML.format(code=c) for c in codes)), "utf-8")
    sync_dags = [f"gridhub_sync__{c}.{s}" for c in codes for s in ("population", "civil-affairs", "dispute-mediation")]
    cluster = Cluster(tmp_path, province / "hub.yaml", metadata_url, REDIS_DB, {
        "HUB_SECRET_KEY": secret,
        # the dispute logs' parties carry no citizen ID (7-16 unanchored mentions a county): 3 a chunk
        # puts each county's Splink prediction in chunks, each a mapped score_chunk task on either worker
        "HUB_SPLINK_CHUNK_ROWS": "3",
    })
    try:
        cluster.start(workers=2)
        cluster.wait_registered({*sync_dags, RESOLVE_DAG})
        cluster.trigger(*sync_dags)  # all at once: the two workers share them
        for dag_id in sync_dags:
            assert cluster.wait_for_run(dag_id) == "success"
        cluster.quiet(RESOLVE_DAG)  # started by the syncs' Asset events, as often as they came
        with cluster.meta.connect() as conn:
            last = conn.execute(text("SELECT id, state, run_type FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
                                {"d": RESOLVE_DAG}).one()
            tis = conn.execute(text("SELECT ti.task_id, ti.map_index, ti.state, ti.external_executor_id FROM task_instance ti "
                                    "JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id "
                                    "WHERE r.id = :id"), {"id": last.id}).all()
            # the resolve that linked the counties waited for the whole wave of syncs (its figures final)
            first_prepare = conn.execute(text(
                "SELECT min(start_date) FROM task_instance WHERE dag_id = :d AND task_id = 'prepare'"),
                {"d": RESOLVE_DAG}).scalar()
            last_sync = conn.execute(text("SELECT max(end_date) FROM dag_run WHERE dag_id LIKE 'gridhub_sync__%'"
                                          )).scalar()
            chunk_runs = conn.execute(text(
                "SELECT r.id, count(*) FROM task_instance ti JOIN dag_run r ON r.dag_id = ti.dag_id "
                "AND r.run_id = ti.run_id WHERE r.dag_id = :d AND ti.task_id = 'score_chunk' AND ti.state = 'success' "
                "AND ti.external_executor_id IS NOT NULL GROUP BY r.id"), {"d": RESOLVE_DAG}).all()
    finally:
        cluster.close()
    assert last.state == "success" and last.run_type == "asset_triggered"
    assert first_prepare >= last_sync, (first_prepare, last_sync)
    # a resolve run that loaded a county in full scored it in chunks, as mapped tasks through Celery;
    # a later run with little new skips them (score_chunk expanded over nothing)
    assert max((n for _, n in chunk_runs), default=0) >= 3, chunk_runs
    assert all(t.state == "skipped" or t.map_index >= 0 for t in tis if t.task_id == "score_chunk"), tis
    assert sorted((t.task_id, t.map_index) for t in tis if t.task_id != "score_chunk") == [
        ("chunk_jobs", -1), ("finish", -1), ("finish_county", 0), ("finish_county", 1), ("finish_county", 2),
        ("link_movers", -1), ("prepare", -1), ("resolve_county", 0), ("resolve_county", 1), ("resolve_county", 2),
        ("syncs_settled", -1)]
    assert all(t.state == "success" and t.external_executor_id for t in tis
               if t.task_id != "score_chunk" or t.state != "skipped"), tis
    # both worker processes ran tasks
    for n in (1, 2):
        received = cluster.log(f"worker{n}").count("] received")
        assert received > 0, f"worker{n} ran nothing: " + cluster.log(f"worker{n}")[-1500:]

    # the reference: the same loaded records, resolved by one process over the whole store
    reference = store_url.rsplit("/", 1)[0] + "/" + store_url.rsplit("/", 1)[1] + "_whole"
    admin = create_engine(store_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{reference.rsplit("/", 1)[1]}" TEMPLATE '
                              f'"{store_url.rsplit("/", 1)[1]}"'))
        ref_engine = create_engine(reference)
        with ref_engine.begin() as conn:
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables if t not in LOADED) + " CASCADE"))
        ref_engine.dispose()
        ctx = HubContext.from_config(province / "hub.yaml")
        export_links(ctx, tmp_path / "links-by-county.csv")
        monkeypatch.setenv("HUB_DATABASE", reference)
        whole = HubContext.from_config(province / "hub.yaml")
        resolve(whole)
        export_links(whole, tmp_path / "links-whole.csv")
        from hub.db.session import get_engine

        get_engine(reference).dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{reference.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
    by_county = (tmp_path / "links-by-county.csv").read_text("utf-8")
    assert by_county.count("\n") > 1000
    assert by_county == (tmp_path / "links-whole.csv").read_text("utf-8")
    store = create_engine(store_url)
    with store.connect() as conn:  # each county's records and links in its own partition
        parts = dict(conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM source_record GROUP BY 1")).all())
    store.dispose()
    assert set(parts) == {f"county_partitions.source_record_c{c}" for c in codes}

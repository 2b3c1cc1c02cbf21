"""Scale-out for real: Airflow's components as separate processes, CeleryExecutor on the machine's
Redis, PostgreSQL as both the Airflow metadata DB and the unified store.

The sync DAG is triggered; the resolve DAG must then start by itself from the Asset events the
sync published (data-aware scheduling), and every task must have gone through Celery to the worker.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from hub.orchestration.airflow_home import airflow_bin, airflow_env, migrate_metadata
from tests.dags.conftest import write_county

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS_DB = 7
SYNC_DAG = "gridhub_sync__grid-registry"
RESOLVE_DAG = "gridhub_resolve"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    if not _redis_up():
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


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen([airflow_bin(), *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _wait_for_run(meta, dag_id: str, logs: Path, timeout: float = 420) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        with meta.connect() as conn:
            state = conn.execute(text("SELECT state FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
                                 {"d": dag_id}).scalar()
        if state == "success":
            return state
        if state == "failed":
            task_logs = sorted(logs.parent.glob("airflow/logs/**/*.log"))
            raise AssertionError(f"{dag_id} failed; task logs: "
                                 + " | ".join(p.read_text(errors="replace")[-1200:] for p in task_logs[-3:]))
        time.sleep(2)
    tails = {p.name: p.read_text(errors="replace")[-1500:] for p in logs.glob("*.log")}
    raise AssertionError(f"{dag_id} did not finish in {timeout}s (last state {state}); logs: {tails}")


def test_sync_and_asset_triggered_resolve_run_on_celery_workers(tmp_path: Path,
                                                                databases: tuple[str, str]) -> None:
    metadata_url, store_url = databases
    county = write_county(tmp_path / "county", database=store_url, landing=str(tmp_path / "shared-landing"),
                          schedule="null")  # runs only when triggered: the test owns every run
    port = _free_port()
    extra = {
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "HUB_SECRET_KEY": "celery-scale-out-test",
    }
    env = {**os.environ, **airflow_env(tmp_path / "airflow", hub_config=county / "hub.yaml", metadata_url=metadata_url,
                                       executor="CeleryExecutor", extra=extra)}
    migrate_metadata(env)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [
        _start(["api-server", "--port", str(port), "--host", "127.0.0.1"], env, logs / "api-server.log"),
        _start(["scheduler"], env, logs / "scheduler.log"),
        _start(["dag-processor"], env, logs / "dag-processor.log"),
        _start(["celery", "worker", "--concurrency", "2"], env, logs / "worker.log"),
    ]
    meta = create_engine(metadata_url)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # wait until the dag processor has serialised our DAGs
            with meta.connect() as conn:
                found = conn.execute(text("SELECT count(*) FROM dag WHERE dag_id IN (:a, :b)"),
                                     {"a": SYNC_DAG, "b": RESOLVE_DAG}).scalar()
            if found == 2:
                break
            time.sleep(2)
        else:
            raise AssertionError("the dag-processor never registered the DAGs: "
                                 + (logs / "dag-processor.log").read_text(errors="replace")[-2000:])
        trigger = subprocess.run([airflow_bin(), "dags", "trigger", SYNC_DAG], env=env, capture_output=True,
                                 text=True, check=False)
        assert trigger.returncode == 0, trigger.stderr[-2000:]
        assert _wait_for_run(meta, SYNC_DAG, logs) == "success"
        # no trigger: the Asset events of `publish` schedule the resolve DAG
        assert _wait_for_run(meta, RESOLVE_DAG, logs) == "success"
        with meta.connect() as conn:
            tis = conn.execute(text(
                "SELECT dag_id, task_id, state, external_executor_id, hostname FROM task_instance "
                "WHERE dag_id IN (:a, :b)"), {"a": SYNC_DAG, "b": RESOLVE_DAG}).all()
            celery_ok = conn.execute(text("SELECT count(*) FROM celery_taskmeta WHERE status = 'SUCCESS'")).scalar()
            resolve_run_type = conn.execute(text(
                "SELECT run_type FROM dag_run WHERE dag_id = :b ORDER BY id DESC LIMIT 1"), {"b": RESOLVE_DAG}).scalar()
    finally:
        _stop(procs)
        meta.dispose()
    assert {t.task_id for t in tis} == {"extract", "validate", "load", "publish", "resolve"}
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

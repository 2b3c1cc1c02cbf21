"""Airflow as separate processes on this machine: API server, scheduler, DAG processor and Celery workers,
on the machine's Redis (broker) and PostgreSQL (metadata DB). The scale-out tests and
``bench/bench_province_celery.py`` drive the DAGs through it exactly as an operator would."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from hub.orchestration.airflow_home import airflow_bin, airflow_env, migrate_metadata

TRIGGER = """
import sys
from airflow.api.common.trigger_dag import trigger_dag
from airflow.utils.types import DagRunTriggeredByType
for dag_id in sys.argv[1:]:
    trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.CLI)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Cluster:
    """One Airflow installation (``home``) whose DAGs read ``hub_config``; CeleryExecutor, Redis db ``redis_db``."""

    def __init__(self, home: Path, hub_config: Path, metadata_url: str, redis_db: int,
                 extra: dict[str, str] | None = None) -> None:
        port = free_port()
        settings = {
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            **(extra or {}),
        }
        self.home, self.port = home, port
        self.env = {**os.environ, **airflow_env(home / "airflow", hub_config=hub_config, metadata_url=metadata_url,
                                                executor="CeleryExecutor", extra=settings)}
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.meta: Engine = create_engine(metadata_url)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, workers: int = 2, concurrency: int = 2) -> None:
        migrate_metadata(self.env)
        self._start("api-server", ["api-server", "--port", str(self.port), "--host", "127.0.0.1"])
        self._start("scheduler", ["scheduler"])
        self._start("dag-processor", ["dag-processor"])
        for n in range(1, workers + 1):
            self.start_worker(n, concurrency)

    def start_worker(self, n: int, concurrency: int = 2) -> None:
        """Worker ``n``: its own log server port and pid file; it logs each task it receives."""
        env = {**self.env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
               "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO", "AIRFLOW__LOGGING__CELERY_LOGGING_LEVEL": "INFO"}
        self._start(f"worker{n}", ["celery", "worker", "--concurrency", str(concurrency), "--celery-hostname",
                                   f"worker{n}@%h", "--pid", str(self.home / f"worker{n}.pid")], env)

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        out = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen([airflow_bin(), *args], env=env or self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, *names: str) -> None:
        """Stop these components (all when none named): SIGTERM to each process group, then SIGKILL."""
        procs = [self.procs.pop(n) for n in (names or list(self.procs))]
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def close(self) -> None:
        self.stop()
        self.meta.dispose()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def wait_registered(self, dag_ids: set[str], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.meta.connect() as conn:
                if dag_ids <= set(conn.execute(text("SELECT dag_id FROM dag")).scalars()):
                    return
            time.sleep(2)
        raise AssertionError("the dag-processor never registered the DAGs: " + self.log("dag-processor")[-2000:])

    def trigger(self, *dag_ids: str) -> None:
        """A manual run of each DAG, all from one process within a second, as a schedule fires them: one
        ``airflow dags trigger`` each (a CLI start-up of seconds under load) let the first sync end before
        the last was triggered, so a wave of syncs was not one wave."""
        done = subprocess.run([sys.executable, "-c", TRIGGER, *dag_ids], env=self.env, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr[-2000:]

    def wait_for_run(self, dag_id: str, timeout: float = 420) -> str:
        """The state of ``dag_id``'s newest run once it succeeded; a failed run raises with its task logs."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            with self.meta.connect() as conn:
                state = conn.execute(text("SELECT state FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
                                     {"d": dag_id}).scalar()
            if state == "success":
                return state
            if state == "failed":
                task_logs = sorted((self.home / "airflow" / "logs").glob("**/*.log"))
                raise AssertionError(f"{dag_id} failed; task logs: "
                                     + " | ".join(p.read_text(errors="replace")[-1200:] for p in task_logs[-3:]))
            time.sleep(2)
        tails = {p.name: p.read_text(errors="replace")[-1500:] for p in self.logs.glob("*.log")}
        raise AssertionError(f"{dag_id} did not finish in {timeout}s (last state {state}); logs: {tails}")

    def quiet(self, dag_id: str, timeout: float = 600) -> None:
        """Wait until no run of ``dag_id`` is queued or running and no Asset event waits to start one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.meta.connect() as conn:
                busy = conn.execute(text("SELECT count(*) FROM dag_run WHERE dag_id = :d AND state IN ('queued', "
                                         "'running')"), {"d": dag_id}).scalar()
                waiting = conn.execute(text("SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = :d"),
                                       {"d": dag_id}).scalar()
                states = conn.execute(text("SELECT state FROM dag_run WHERE dag_id = :d"), {"d": dag_id}).scalars().all()
            if "failed" in states:
                self.wait_for_run(dag_id, timeout=1)  # raises with the task logs
            if states and not busy and not waiting:
                return
            time.sleep(3)
        raise AssertionError(f"{dag_id} still busy after {timeout}s")

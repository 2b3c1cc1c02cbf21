"""Run DAGs in-process with ``dag.test()`` (the demo and the DAG tests).

Needs the environment from ``hub.orchestration.airflow_home`` applied before Airflow is first
imported; run as ``python -m hub.orchestration.airflow_run DAG_ID ...`` in a child process to print
a JSON report.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any


def load_dagbag(dags_folder: str | None = None):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=dags_folder or os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def run_dags(dag_ids: list[str], dags_folder: str | None = None) -> dict[str, dict[str, Any]]:
    """Each DAG once; ``dag.test()`` does not raise on a failed task, so report every task's state."""
    bag = load_dagbag(dags_folder)
    if bag.import_errors:
        first = next(iter(bag.import_errors.items()))
        raise RuntimeError(f"DAG import error in {first[0]}: {first[1].splitlines()[-1]}")
    report: dict[str, dict[str, Any]] = {}
    for dag_id in dag_ids:
        dag = bag.dags[dag_id]
        started = time.monotonic()
        dagrun = dag.test()
        tasks = {ti.task_id: str(ti.state) for ti in dagrun.get_task_instances()}
        report[dag_id] = {"state": str(dagrun.state), "tasks": tasks, "seconds": round(time.monotonic() - started, 2)}
    return report


def main(argv: list[str]) -> int:
    logging.getLogger("airflow").setLevel(logging.WARNING)
    dags_folder = None
    if argv and argv[0].startswith("--dags="):
        dags_folder = argv.pop(0).split("=", 1)[1]
    report = run_dags(argv, dags_folder)
    sys.stdout.write("\n__REPORT__" + json.dumps(report) + "\n")
    return 0 if all(r["state"] == "success" for r in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))



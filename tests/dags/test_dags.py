"""DAG integrity (DagBag) and real runs with dag.test()."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from tests.dags.conftest import run_python

INTEGRITY = """
import json, time
from airflow.dag_processing.dagbag import DagBag
bag = DagBag()
report = {
  "errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
  "dags": {d.dag_id: {"tags": sorted(d.tags), "doc": bool(d.doc_md),
           "retries": {t.task_id: t.retries for t in d.tasks}} for d in bag.dags.values()},
  "files": {s.file: s.duration.total_seconds() if hasattr(s.duration, "total_seconds") else float(s.duration)
            for s in bag.dagbag_stats},
}
print("__REPORT__" + json.dumps(report))
"""


def test_dagbag_integrity(airflow_home: tuple[Path, dict[str, str]]) -> None:
    _, env = airflow_home
    report = run_python(INTEGRITY, env)
    assert report["errors"] == {}
    dags = report["dags"]
    assert {"gridhub_sync__grid-registry", "gridhub_resolve", "gridhub_events", "gridhub_quality"} <= set(dags)
    assert "gridhub_sync__second-registry" not in dags  # disabled sources get no DAG
    for dag_id, dag in dags.items():
        assert "gridhub" in dag["tags"], dag_id
        assert dag["doc"], f"{dag_id} has no doc_md"
        for task_id, retries in dag["retries"].items():
            assert retries >= 2, f"{dag_id}.{task_id} retries={retries}"
    for path, seconds in report["files"].items():
        assert seconds < 1.0, f"{path} took {seconds:.2f}s to import"


RUN = """
from hub.orchestration.airflow_run import run_dags
import json
first = run_dags(["gridhub_sync__grid-registry", "gridhub_resolve"])
second = run_dags(["gridhub_sync__grid-registry"])
print("__REPORT__" + json.dumps({"first": first, "second": second}))
"""


def test_sync_and_resolve_dags_run_for_real(airflow_home: tuple[Path, dict[str, str]]) -> None:
    county, env = airflow_home
    report = run_python(RUN, env)
    first, second = report["first"], report["second"]
    assert first["gridhub_sync__grid-registry"]["state"] == "success", first
    assert first["gridhub_sync__grid-registry"]["tasks"]["publish"] == "success"
    assert first["gridhub_resolve"]["state"] == "success", first
    # the resolve waited for the wave of syncs (none in flight here: the sensor passed at its first poke)
    assert first["gridhub_resolve"]["tasks"] == {"syncs_settled": "success", "resolve": "success"}
    # nothing changed the second time: the run succeeds and publishes no Asset event
    assert second["gridhub_sync__grid-registry"]["state"] == "success"
    assert second["gridhub_sync__grid-registry"]["tasks"]["publish"] == "skipped"
    engine = create_engine(f"sqlite:///{county / 'var/hub.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from grid_cell where retired = 0")).scalar() == 10
        runs = conn.execute(text("select state, loaded from run order by started_at")).all()
    assert runs == [("success", 10), ("success", 0)]

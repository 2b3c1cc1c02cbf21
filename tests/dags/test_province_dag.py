"""The province's resolve DAG: counties mapped, the Splink chunks of large counties mapped too."""

from __future__ import annotations

import pytest

from hub.orchestration.airflow_home import airflow_env, migrate_metadata
from tests.dags.conftest import run_python

SHAPE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag()
dag = bag.dags["gridhub_resolve"]
report = {"errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
          "tasks": {t.task_id: {"mapped": bool(getattr(t, "is_mapped", False)) or type(t).__name__ == "MappedOperator",
                                "upstream": sorted(t.upstream_task_ids), "retries": t.retries,
                                "trigger_rule": str(t.trigger_rule)} for t in dag.tasks}}
print("__REPORT__" + json.dumps(report))
"""


@pytest.fixture(scope="module")
def province_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home whose hub.yaml is a province of two counties."""
    base = tmp_path_factory.mktemp("province-dag")
    config = base / "hub.yaml"
    config.write_text("database: sqlite:///var/hub.db\nlanding: var/landing\ncounties:\n" + "".join(
        f"  \"{code}\":\n    name: c{code}\n    sources:\n"
        f"      grid-registry: {{connector: grid-registry, path: {code}/grids.geojson}}\n"
        for code in ("130102", "130104")), "utf-8")
    env = airflow_env(base / "home", hub_config=config)
    migrate_metadata(env)
    return env


def test_resolve_dag_maps_counties_and_prediction_chunks(province_home: dict[str, str]) -> None:
    report = run_python(SHAPE, province_home)
    assert report["errors"] == {}
    tasks = report["tasks"]
    assert set(tasks) == {"prepare", "resolve_county", "chunk_jobs", "score_chunk", "finish_county",
                          "link_movers", "finish"}
    assert {t for t, spec in tasks.items() if spec["mapped"]} == {"resolve_county", "score_chunk", "finish_county"}
    assert tasks["resolve_county"]["upstream"] == ["prepare"]
    assert tasks["score_chunk"]["upstream"] == ["chunk_jobs"]
    assert tasks["chunk_jobs"]["upstream"] == ["resolve_county"]
    # a county waits for every chunk; a province with no large county skips the chunks and goes on
    assert tasks["finish_county"]["upstream"] == ["prepare", "score_chunk"]
    assert tasks["finish_county"]["trigger_rule"].endswith("none_failed")
    assert tasks["link_movers"]["upstream"] == ["finish_county"]
    assert tasks["finish"]["upstream"] == ["link_movers"]
    assert all(spec["retries"] >= 2 for spec in tasks.values()), tasks

"""The province's resolve DAG: counties mapped, the Splink chunks of large counties mapped too."""

from __future__ import annotations

from pathlib import Path

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
    assert set(tasks) == {"syncs_settled", "prepare", "resolve_county", "chunk_jobs", "score_chunk",
                          "finish_county", "link_movers", "finish"}
    # no county is linked while a sync of the province is still loading (its figures would move under it)
    assert tasks["prepare"]["upstream"] == ["syncs_settled"]
    assert tasks["prepare"]["trigger_rule"].lower().endswith("none_failed")
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


def test_resolve_waits_for_every_sync_of_the_province(tmp_path: Path) -> None:
    """The settle sensor's answer: the first sync DAG with a run in flight, None once all are idle."""
    from hub.orchestration.tasks import sync_in_flight

    config = tmp_path / "hub.yaml"
    config.write_text("counties:\n" + "".join(
        f"  \"{code}\":\n    name: c{code}\n    sources:\n"
        f"      population: {{connector: population, url: 'sqlite:///p.db'}}\n"
        f"      dispute-mediation: {{connector: dispute-mediation, path: d, enabled: false}}\n"
        for code in ("130102", "130104")), "utf-8")
    in_flight: dict[str, int] = {"gridhub_sync__130104.population": 1}
    asked: list[str] = []

    def count(dag_id: str) -> int:
        asked.append(dag_id)
        return in_flight.get(dag_id, 0)

    assert sync_in_flight(count, config) == "gridhub_sync__130104.population"
    in_flight.clear()
    asked.clear()
    assert sync_in_flight(count, config) is None
    # every enabled sync of every county is asked about; a disabled source has no DAG to wait for
    assert sorted(asked) == ["gridhub_sync__130102.population", "gridhub_sync__130104.population"]

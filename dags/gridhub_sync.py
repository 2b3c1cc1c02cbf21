"""One sync DAG per source in hub.yaml: extract -> validate -> load -> publish.

`publish` emits an Asset event per entity kind the source can change, and is skipped when the
load changed nothing, so the resolve DAG runs only after real changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from hub.orchestration.tasks import DagSource, asset_uri, dag_sources

DEFAULT_ARGS = {"owner": "county-it", "retries": 2, "retry_delay": timedelta(seconds=30)}


def build_sync_dag(source: DagSource):  # type: ignore[no-untyped-def]
    outlets = [Asset(name=f"gridhub.{kind}", uri=asset_uri(kind)) for kind in source.kinds]

    @dag(
        dag_id=source.dag_id,
        schedule=source.schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["gridhub", "sync", source.connector],
        doc_md=f"Sync source **{source.name}** (connector `{source.connector}`): extract what changed since the "
               f"committed state, validate against its contracts, load in one transaction. Stages are idempotent "
               f"per run id, so retries are safe. Publishes: {', '.join(source.kinds)}.",
    )
    def sync_dag() -> None:
        @task
        def extract() -> str:
            from hub.orchestration.tasks import extract_task

            return extract_task(source.name)

        @task
        def validate(hub_run: str) -> str:
            from hub.orchestration.tasks import validate_task

            return validate_task(source.name, hub_run)

        @task
        def load(hub_run: str) -> dict[str, int]:
            from hub.orchestration.tasks import load_task

            return load_task(source.name, hub_run)

        @task(outlets=outlets)
        def publish(totals: dict[str, int]) -> dict[str, int]:
            if not totals["loaded"] and not totals["tombstoned"]:
                raise AirflowSkipException("nothing changed: no Asset event")
            return totals

        publish(load(validate(extract())))

    return sync_dag()


for _source in dag_sources():
    globals()[_source.dag_id] = build_sync_dag(_source)

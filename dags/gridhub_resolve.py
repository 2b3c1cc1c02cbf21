"""Resolve after any source changed entities: links, golden records, places, events, tags."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, AssetAny, dag, task

from hub.orchestration.tasks import ALL_KINDS, RESOLVED_ASSET, asset_uri

RESOLVED = Asset(**RESOLVED_ASSET)


@dag(
    dag_id="gridhub_resolve",
    schedule=AssetAny(*(Asset(name=f"gridhub.{k}", uri=asset_uri(k)) for k in ALL_KINDS)),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "county-it", "retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["gridhub", "resolve"],
    doc_md="Runs the resolve stage whenever a sync DAG published changed entities. Idempotent and "
           "incremental: a retry or a second run changes nothing.",
)
def gridhub_resolve() -> None:
    @task(outlets=[RESOLVED])
    def resolve() -> dict[str, object]:
        from hub.orchestration.tasks import resolve_task

        return resolve_task()

    resolve()


gridhub_resolve()

"""Resolve after any source changed entities: links, golden records, places, events, tags.

With counties in hub.yaml (a province), resolve is partitioned: ``prepare`` -> ``resolve_county``
mapped over the counties (one task each, on any Celery worker) -> ``link_movers`` -> ``finish``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, AssetAny, dag, task

from hub.orchestration.tasks import ALL_KINDS, RESOLVED_ASSET, asset_uri, dag_counties

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
    if dag_counties():
        _by_county()
        return

    @task(outlets=[RESOLVED])
    def resolve() -> dict[str, object]:
        from hub.orchestration.tasks import resolve_task

        return resolve_task()

    resolve()


def _by_county() -> None:
    @task
    def prepare() -> list[str]:
        from hub.orchestration.tasks import province_prepare_task

        return province_prepare_task()

    @task
    def resolve_county(county: str) -> dict[str, int]:
        from hub.orchestration.tasks import resolve_county_task

        return resolve_county_task(county)

    @task
    def link_movers() -> dict[str, int]:
        from hub.orchestration.tasks import link_movers_task

        return link_movers_task()

    @task(outlets=[RESOLVED])
    def finish() -> dict[str, object]:
        from hub.orchestration.tasks import province_finish_task

        return province_finish_task()

    resolve_county.expand(county=prepare()) >> link_movers() >> finish()


gridhub_resolve()

"""Resolve after any source changed entities: links, golden records, places, events, tags.

It begins with ``syncs_settled``, a sensor: no sync DAG of the hub queued or running. The DAG is
scheduled by any sync's Asset event, so without it a wave of syncs triggered together would be
resolved as they land, the first sources linked with the model and name frequencies of a half-loaded
store (a borderline link made then is not revisited) and one resolve run queued behind another.

With counties in hub.yaml (a province), resolve is partitioned: ``syncs_settled`` (a sensor: no sync
DAG of the province queued or running, so every county is linked with the same province-wide figures)
-> ``prepare`` -> ``resolve_county``
mapped over the counties (one task each, on any Celery worker) -> ``score_chunk`` mapped over the
Splink chunks of the counties too large for one worker (hub.province.prediction) -> ``finish_county``
(those counties' resolve with their chunks' pairs) -> ``link_movers`` -> ``finish``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, AssetAny, dag, task

from hub.orchestration.tasks import (
    ALL_KINDS,
    RESOLVED_ASSET,
    SETTLE_LIMIT_SECONDS,
    SETTLE_POKE_SECONDS,
    asset_uri,
    dag_counties,
)

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
    # reschedule: the sensor holds no worker slot between pokes (the syncs it waits for need them);
    # past the limit it is skipped (soft_fail) and the resolve goes on with what has loaded
    @task.sensor(poke_interval=SETTLE_POKE_SECONDS, timeout=SETTLE_LIMIT_SECONDS, mode="reschedule", soft_fail=True)
    def syncs_settled() -> bool:
        from hub.orchestration.tasks import syncs_settled_task

        return syncs_settled_task()

    settled = syncs_settled()
    if dag_counties():
        settled >> _by_county()
        return

    @task(outlets=[RESOLVED], trigger_rule="none_failed")  # also after the settle wait timed out (skipped)
    def resolve() -> dict[str, object]:
        from hub.orchestration.tasks import resolve_task

        return resolve_task()

    settled >> resolve()


def _by_county() -> Any:
    """The province's tasks; returns ``prepare``, the first (the settle sensor goes before it)."""

    @task(trigger_rule="none_failed")  # also after the settle wait timed out (skipped)
    def prepare() -> list[str]:
        from hub.orchestration.tasks import province_prepare_task

        return province_prepare_task()

    @task
    def resolve_county(county: str) -> list[dict[str, object]]:
        from hub.orchestration.tasks import resolve_county_staged_task

        return resolve_county_staged_task(county)

    @task
    def chunk_jobs(staged: list[list[dict[str, object]]]) -> list[dict[str, object]]:
        from hub.orchestration.tasks import chunk_jobs_task

        return chunk_jobs_task(list(staged))

    @task
    def score_chunk(job: dict[str, object]) -> dict[str, int]:
        from hub.orchestration.tasks import score_chunk_task

        return score_chunk_task(job)

    @task(trigger_rule="none_failed")  # no county staged a prediction: the chunk tasks were skipped
    def finish_county(county: str) -> dict[str, int]:
        from hub.orchestration.tasks import finish_county_task

        return finish_county_task(county)

    @task(trigger_rule="none_failed")
    def link_movers() -> dict[str, int]:
        from hub.orchestration.tasks import link_movers_task

        return link_movers_task()

    @task(outlets=[RESOLVED])
    def finish() -> dict[str, object]:
        from hub.orchestration.tasks import province_finish_task

        return province_finish_task()

    counties = prepare()
    scored = score_chunk.expand(job=chunk_jobs(resolve_county.expand(county=counties)))
    scored >> finish_county.expand(county=counties) >> link_movers() >> finish()
    return counties


gridhub_resolve()

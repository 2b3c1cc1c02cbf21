"""Data Docs for stewards, rebuilt after each resolve and every night: first the pages of the day's small
runs, which the sync checked without Great Expectations (hub.quality.deferred)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from hub.orchestration.tasks import RESOLVED_ASSET

RESOLVED = Asset(**RESOLVED_ASSET)


@dag(
    dag_id="gridhub_quality",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("30 6 * * *", timezone="Asia/Shanghai"),
                                 assets=RESOLVED),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-stewards", "retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["gridhub", "quality"],
    doc_md="Builds the Great Expectations Data Docs from the recent runs' validation results, so data "
           "stewards can read pass rates and failing rows per source and stream. Runs the sync checked "
           "without GX (a day's trickle) are re-checked in GX here and get their page; the task fails if "
           "GX does not quarantine exactly what the sync quarantined.",
)
def gridhub_quality() -> None:
    @task
    def build_data_docs() -> str:
        from hub.orchestration.tasks import quality_docs_task

        return quality_docs_task()

    build_data_docs()


gridhub_quality()

"""Event deadlines: every morning, and after each resolve, mark overdue events and escalations."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from hub.orchestration.tasks import RESOLVED_ASSET

RESOLVED = Asset(**RESOLVED_ASSET)


@dag(
    dag_id="gridhub_events",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 7 * * *", timezone="Asia/Shanghai"),
                                 assets=RESOLVED),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "county-it", "retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["gridhub", "events"],
    doc_md="Re-assesses every open event against its deadline in working days of the official PRC "
           "calendar (village 3, township 5, beyond the township passed up within 1) and marks overdue "
           "events and escalations in the unified model.",
)
def gridhub_events() -> None:
    @task
    def mark_overdue() -> dict[str, int]:
        from hub.orchestration.tasks import events_task

        return events_task()

    mark_overdue()


gridhub_events()

"""What the Airflow DAGs call. DAG files only orchestrate; every decision lives here.

Tasks pass run ids (strings) through XCom, never data: stages hand data over through the
landing zone, so each task can retry or run on another worker. The hub.yaml is named by the
``HUB_CONFIG`` environment variable (default ``./hub.yaml``), the same on every worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

CONFIG_ENV = "HUB_CONFIG"

# Which entity kinds a source of each connector can change: one Airflow Asset per kind.
ENTITY_KINDS: dict[str, tuple[str, ...]] = {
    "grid-registry": ("grids",),
    "population": ("persons", "households"),
    "civil-affairs": ("persons",),
    "fire-safety": ("organizations", "persons", "events"),
    "public-security": ("persons", "organizations", "events"),
    "dispute-mediation": ("events", "persons"),
}
ALL_KINDS = ("grids", "persons", "households", "organizations", "events")
#: Airflow's default core.max_map_length: one mapped task a county; a province has at most a few
#: hundred counties (hub.province.partitions.MAX_PARTITIONS), so the default is never raised
MAX_MAPPED_COUNTIES = 1024


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV, "hub.yaml"))


@dataclass(frozen=True)
class DagSource:
    name: str
    connector: str
    schedule: str | None = "@hourly"  # hub.yaml `schedule:` per source; null = only when triggered

    @property
    def dag_id(self) -> str:
        return "gridhub_sync__" + "".join(c if c.isalnum() or c in "_-." else "_" for c in self.name)

    @property
    def kinds(self) -> tuple[str, ...]:
        return ENTITY_KINDS.get(self.connector, ("records",))


def dag_sources(path: Path | None = None) -> list[DagSource]:
    """The sources to build sync DAGs for: a cheap YAML read (DAG parsing must stay fast).

    A missing or broken hub.yaml yields no sync DAGs rather than an import error that would hide
    every other DAG; ``hub check`` and the tasks themselves report the config problem clearly.
    """
    path = path or config_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    sources = dict(raw.get("sources") or {})
    for code, county in _yaml_counties(raw).items():  # a province: each county's sources, qualified
        sources.update({f"{code}.{name}": spec for name, spec in (county.get("sources") or {}).items()})
    return [DagSource(name, str(spec.get("connector", name)), spec.get("schedule", "@hourly"))
            for name, spec in sources.items() if isinstance(spec, dict) and spec.get("enabled", True) is not False]


def dag_counties(path: Path | None = None) -> list[str]:
    """The counties of a province hub.yaml (cheap YAML read at DAG parse time); [] for one county."""
    path = path or config_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    return sorted(_yaml_counties(raw))


def _yaml_counties(raw: object) -> dict[str, dict]:
    counties = raw.get("counties") if isinstance(raw, dict) else None
    if not isinstance(counties, dict):
        return {}
    return {str(code): spec for code, spec in counties.items() if isinstance(spec, dict)}


def asset_uri(kind: str) -> str:
    return f"gridhub://entities/{kind}"


# Emitted by the resolve DAG; the events and quality DAGs are scheduled on it.
RESOLVED_ASSET = {"name": "gridhub.resolved", "uri": "gridhub://resolved"}


def _context():  # type: ignore[no-untyped-def]
    from hub.context import HubContext

    return HubContext.from_config(config_path())


def extract_task(source: str) -> str:
    from hub.connector.landing import prune
    from hub.stages.extract import extract
    from hub.stages.ledger import new_run_id
    from hub.stages.sync import run_stage

    ctx = _context()
    ctx.ensure_store()
    prune(ctx.landing, source, ctx.config.landing_keep_days)
    run_id = new_run_id()
    run_stage(ctx, source, run_id, "extract", extract)
    return run_id


def validate_task(source: str, run_id: str) -> str:
    from hub.stages.sync import run_stage
    from hub.stages.validate import validate

    run_stage(_context(), source, run_id, "validate", validate)
    return run_id


def load_task(source: str, run_id: str) -> dict[str, int]:
    """Returns the run's totals; the DAG publishes its Assets only when something changed."""
    from hub.stages.load import load
    from hub.stages.sync import run_stage

    info = run_stage(_context(), source, run_id, "load", load)
    totals = {k: sum(s[k] for s in info.streams.values()) for k in
              ("read", "loaded", "unchanged", "quarantined", "tombstoned")}
    return {"run_id": run_id, **totals}  # type: ignore[dict-item]


def resolve_task() -> dict[str, object]:
    from hub.resolve import resolve

    return _jsonable(resolve(_context()))


#: how often the province's resolve asks whether its syncs have settled, and for how long at most
SETTLE_POKE_SECONDS = 15
SETTLE_LIMIT_SECONDS = 2 * 3600
IN_FLIGHT = ["queued", "running"]


def sync_in_flight(count_runs: Callable[[str], int], path: Path | None = None) -> str | None:
    """The first sync DAG with a run queued or running, or None once the wave of syncs is over.

    The resolve waits for this (in a province, before ``prepare``): a county linked while other counties
    still load would score its ID-less mentions with the province's model and name frequencies of that
    moment, and a borderline link made then is not revisited when they change (seen: one dispute party
    linked apart from the whole-store resolve). ``count_runs(dag_id)``: Airflow's count of that DAG's
    runs in flight (the task instance's ``get_dr_count``, through the API server: no ORM in a task)."""
    return next((s.dag_id for s in dag_sources(path) if count_runs(s.dag_id)), None)


def syncs_settled_task() -> bool:
    """The sensor's poke: True when no sync of the hub (or province) is in flight (its log names the one waited for)."""
    import logging

    from airflow.sdk import get_current_context

    ti = get_current_context()["ti"]
    busy = sync_in_flight(lambda dag_id: ti.get_dr_count(dag_id=dag_id, states=IN_FLIGHT))
    if busy:
        logging.getLogger(__name__).info("waiting: %s has a run in flight", busy)
    return busy is None


def province_prepare_task() -> list[str]:
    """Grids, the province's person model and matching figures; returns the counties to map over
    (read from hub.yaml at run time, so a county added since the DAG was parsed is resolved too)."""
    from hub.province import resolve as by_county

    ctx = _context()
    by_county.prepare(ctx)
    counties = by_county.counties(ctx)
    if len(counties) > MAX_MAPPED_COUNTIES:
        raise ValueError(f"{len(counties)} counties: more than Airflow maps in one task ({MAX_MAPPED_COUNTIES}, "
                         "core.max_map_length); raise it with the reason, or split the province")
    return counties


def resolve_county_task(county: str) -> dict[str, int]:
    from hub.province import resolve as by_county

    return by_county.resolve_county(_context(), county)


def resolve_county_staged_task(county: str) -> list[dict[str, object]]:
    """The county's resolve; a scoring larger than one worker's chunk is staged instead: its chunk jobs."""
    from hub.province import prediction

    return prediction.resolve_county(_context(), county)


def chunk_jobs_task(staged: list[list[dict[str, object]]]) -> list[dict[str, object]]:
    """Every county's chunk jobs as one list to map the chunk tasks over (small: keys and numbers)."""
    return [job for jobs in staged for job in (jobs or [])]


def score_chunk_task(job: dict[str, object]) -> dict[str, int]:
    from hub.province import prediction

    return prediction.score_chunk(_context(), str(job["county"]), str(job["key"]), int(job["chunk"]),  # type: ignore[call-overload]
                                  int(job["chunks"]))  # type: ignore[call-overload]


def finish_county_task(county: str) -> dict[str, int]:
    """A staged county's resolve with its chunks' pairs; nothing for a county resolved at once."""
    from hub.province import prediction

    return prediction.finish_county(_context(), county)


def link_movers_task() -> dict[str, int]:
    from hub.province import resolve as by_county

    return by_county.link_movers(_context())


def province_finish_task() -> dict[str, object]:
    from hub.province import resolve as by_county

    return by_county.finish(_context())  # type: ignore[return-value]


def events_task(today: str | None = None) -> dict[str, int]:
    import datetime as dt

    from hub.events.overdue import mark_overdue

    day = dt.date.fromisoformat(today) if today else None
    return mark_overdue(_context(), day)


def quality_docs_task() -> str:
    """Build the pages the day's syncs deferred (their rows re-checked in GX; a disagreement with what the
    sync quarantined fails the task), then rebuild the whole Data Docs site."""
    from hub.quality.deferred import build_awaited_docs
    from hub.quality.docs import rebuild_site

    ctx = _context()
    build_awaited_docs(ctx)
    return str(rebuild_site(ctx))


def _jsonable(obj: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else {"result": str(obj)}

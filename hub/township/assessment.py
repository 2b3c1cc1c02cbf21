"""督查考核: the assessment figures of grid-work.md per grid and period, as of a date.

Per grid of a level (2: villages/communities, 3: groups; 1, the township, for its total), each over
its whole subtree, over the events the grids handle — disputes and fire-safety hazards (police
incidents are the police's) — accepted (a hazard: found) in the period up to the as-of date.
Every figure is a count plus, where grid-work.md defines one, a rate (None when its denominator is 0).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from hub.api.subtree import CodeRange, subtree
from hub.db.models import Event, GridCell, Inspection, Organization
from hub.events.clock import beijing_today
from hub.township import handling
from hub.township.periods import Period
from hub.township.rules import TownshipRules

ASSESSED_KINDS = ("dispute", "hazard")
EVENT_COLUMNS = (Event.id, Event.kind, Event.grid_code, Event.remit, Event.status, Event.accepted_at,
                 Event.occurred_at, Event.resolved_at, Event.closed_at, Event.history, Event.details)


@dataclass
class GridFigures:
    code: str
    name: str
    level: int
    parent_code: str | None
    accepted: int = 0
    finished: int = 0
    finished_on_time: int = 0
    overdue_open: int = 0
    county_remit: int = 0
    passed_up_on_time: int = 0
    closed_with_feedback: int = 0
    satisfied: int = 0
    hazards_found: int = 0
    hazards_rectified_on_time: int = 0
    key_units: int = 0
    key_units_inspected: int = 0
    provisional_due: int = 0  # events whose due date was counted on a guessed calendar
    overdue_open_ids: list[str] = field(default_factory=list)

    @staticmethod
    def _rate(num: int, den: int) -> float | None:
        return round(num / den, 4) if den else None

    @property
    def rates(self) -> dict[str, float | None]:
        return {"closure_rate": self._rate(self.finished, self.accepted),
                "on_time_rate": self._rate(self.finished_on_time, self.finished),
                "passed_up_on_time_rate": self._rate(self.passed_up_on_time, self.county_remit),
                "satisfaction": self._rate(self.satisfied, self.closed_with_feedback),
                "hazards_rectified_on_time_rate": self._rate(self.hazards_rectified_on_time, self.hazards_found),
                "inspection_coverage": self._rate(self.key_units_inspected, self.key_units)}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), **self.rates}


@dataclass
class Assessment:
    period: str
    start: dt.date
    end: dt.date
    as_of: dt.date
    level: int
    grids: list[GridFigures]

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "as_of": self.as_of.isoformat(), "level": self.level, "grids": [g.to_dict() for g in self.grids]}


def _bucket(level: int) -> Any:
    """The grid a code counts for at ``level``: its 9-digit township part, 12-digit village, 15-digit group."""
    if level == 1:
        return lambda code: code[:9] if code else None
    if level == 2:
        return lambda code: code[:12] if code and len(code) >= 12 else None
    return lambda code: code if code and len(code) == 15 else None


def _range(within: str) -> CodeRange:
    """A township's 12-digit code (``…000``) covers its 9-digit prefix; any other code, itself and below."""
    return subtree(within, 1 if len(within) == 12 and within.endswith("000") else None)


def _grids(session: Session, level: int, within: str | None) -> dict[str, GridFigures]:
    stmt = select(GridCell.code, GridCell.name, GridCell.level, GridCell.parent_code).where(
        GridCell.level == level, GridCell.retired.is_(False)).order_by(GridCell.code)
    if within:
        stmt = stmt.where(_range(within).clause(GridCell.code))
    out = {}
    key = _bucket(level)
    for code, name, lvl, parent in session.execute(stmt):
        out[key(code)] = GridFigures(code=code, name=name, level=lvl, parent_code=parent)
    return out


def assess(session: Session, period: Period | str, level: int = 2, as_of: dt.date | None = None, *,
           within: str | None = None, rules: TownshipRules | None = None) -> Assessment:
    """The figures table for every grid of ``level`` (under ``within``, a grid code, if given)."""
    if isinstance(period, str):
        period = Period.parse(period)
    if level not in (1, 2, 3):
        raise ValueError("level must be 1, 2 or 3")
    rules = rules or TownshipRules()
    as_of = as_of or beijing_today()
    grids = _grids(session, level, within)
    key = _bucket(level)
    last = min(period.end, as_of)
    lo, hi = dt.datetime.combine(period.start, dt.time()), dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    started = or_(and_(Event.accepted_at >= lo, Event.accepted_at < hi),
                  and_(Event.accepted_at.is_(None), Event.occurred_at >= lo, Event.occurred_at < hi))
    stmt = select(*EVENT_COLUMNS).where(Event.kind.in_(ASSESSED_KINDS), started)
    if within:  # one range scan of the grid_code index instead of the county's events
        stmt = stmt.where(_range(within).clause(Event.grid_code))
    for row in session.execute(stmt):
        e = row._mapping
        g = grids.get(key(e["grid_code"]))
        if g is None:
            continue
        h = handling.read(e, as_of, rules.calendar)
        g.accepted += 1
        g.finished += h.finished
        g.finished_on_time += h.on_time
        g.provisional_due += h.provisional
        if h.overdue_open:
            g.overdue_open += 1
            g.overdue_open_ids.append(e["id"])
        if (e["remit"] or "") == "county":
            g.county_remit += 1
            g.passed_up_on_time += h.passed_up_on is not None and h.due is not None and h.passed_up_on <= h.due
        if h.closed_with_feedback:
            g.closed_with_feedback += 1
            g.satisfied += h.closed_with_feedback in handling.SATISFIED
        if e["kind"] == "hazard":
            g.hazards_found += 1
            g.hazards_rectified_on_time += h.on_time
    _inspections(session, grids, key, period.start, last, within)
    for g in grids.values():
        g.overdue_open_ids.sort()
    return Assessment(period=period.label, start=period.start, end=period.end, as_of=as_of, level=level,
                      grids=list(grids.values()))


def _inspections(session: Session, grids: dict[str, GridFigures], key: Any, start: dt.date, last: dt.date,
                 within: str | None) -> None:
    """Key units (消防安全重点单位) in each grid, and those inspected at least once in the period."""
    units = select(Organization.grid_code, func.count()).where(Organization.key_unit.is_(True),
                                                               Organization.grid_code.is_not(None))
    if within:
        units = units.where(_range(within).clause(Organization.grid_code))
    for code, n in session.execute(units.group_by(Organization.grid_code)):
        g = grids.get(key(code))
        if g is not None:
            g.key_units += int(n)
    inspected = (select(Organization.grid_code, func.count(func.distinct(Organization.id)))
                 .join(Inspection, Inspection.organization_id == Organization.id)
                 .where(Organization.key_unit.is_(True), Inspection.inspected_on >= start, Inspection.inspected_on <= last))
    if within:
        inspected = inspected.where(_range(within).clause(Organization.grid_code))
    per_grid: dict[str, int] = defaultdict(int)
    for code, n in session.execute(inspected.group_by(Organization.grid_code)):
        per_grid[code] += int(n)
    for code, n in per_grid.items():
        g = grids.get(key(code))
        if g is not None:
            g.key_units_inspected += n

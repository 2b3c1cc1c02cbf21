"""季度评比: the quarterly ranking of a township's villages/communities by a composite score.

The score is the weighted mean of the figures a village has (weights from ``assessment.weights`` in
hub.yaml: the township's own annex); a figure with no denominator (no hazards found, no key units)
drops out and the other weights carry the score. A village with no figure at all is not ranked.
A village in the bottom ``bottom_places`` in ``consecutive_quarters`` quarters in a row, ending
with the ranked one, is flagged (连续三次在季度评比中位列后两名).

Each quarter is assessed the same number of days after its end as the ranked quarter is (the lag
of ``as_of``), so earlier quarters read as they did when they were ranked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from hub.errors import HubError
from hub.events.clock import beijing_today
from hub.township.assessment import GridFigures, assess
from hub.township.periods import Period
from hub.township.rules import TownshipRules


@dataclass
class RankedGrid:
    code: str
    name: str
    score: float | None
    rank: int | None
    bottom: bool
    bottom_streak: int  # quarters in a row, ending with this one, in the bottom places
    flagged: bool
    history: list[dict[str, Any]] = field(default_factory=list)  # [{period, rank, score, bottom}] oldest first
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ranking:
    period: str
    as_of: dt.date
    within: str | None
    weights: dict[str, float]
    grids: list[RankedGrid]

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "as_of": self.as_of.isoformat(), "within": self.within,
                "weights": self.weights, "grids": [vars(g) for g in self.grids]}


def score(figures: GridFigures, weights: dict[str, float]) -> float | None:
    rates = dict(figures.rates)
    # a weight names a figure; where the figure is a count as well, its rate is the `_rate` entry
    rates["passed_up_on_time"] = rates.pop("passed_up_on_time_rate")
    rates["hazards_rectified_on_time"] = rates.pop("hazards_rectified_on_time_rate")
    rates["overdue_open"] = None if not figures.accepted else 1 - figures.overdue_open / figures.accepted
    parts = [(w, rates[name]) for name, w in weights.items() if rates.get(name) is not None and w]
    total = sum(w for w, _ in parts)
    return round(sum(w * r for w, r in parts) / total, 4) if total else None


def _rank(figures: list[GridFigures], weights: dict[str, float], bottom_places: int) -> dict[str, tuple]:
    scored = sorted(((score(f, weights), f.code) for f in figures), key=lambda x: (x[0] is None, -(x[0] or 0), x[1]))
    ranked = [(s, c) for s, c in scored if s is not None]
    out: dict[str, tuple] = {}
    for i, (s, code) in enumerate(ranked):
        out[code] = (s, i + 1, i >= len(ranked) - bottom_places)
    for _, code in scored:
        out.setdefault(code, (None, None, False))
    return out


def rank(session: Session, period: Period | str, as_of: dt.date | None = None, *, within: str | None = None,
         rules: TownshipRules | None = None) -> Ranking:
    if isinstance(period, str):
        period = Period.parse(period)
    if not period.is_quarter:
        raise HubError(f"the ranking is quarterly: {period.label} is a month (use e.g. 2026Q3)")
    rules = rules or TownshipRules()
    cfg = rules.assessment
    as_of = as_of or beijing_today()
    lag = as_of - period.end
    quarters = [period]
    for _ in range(cfg.consecutive_quarters - 1):
        quarters.insert(0, quarters[0].previous())
    history: dict[str, list[dict[str, Any]]] = {}
    latest: list[GridFigures] = []
    for q in quarters:
        q_as_of = min(as_of, q.end + max(lag, dt.timedelta(0)))
        a = assess(session, q, 2, q_as_of, within=within, rules=rules)
        for code, (s, r, bottom) in _rank(a.grids, cfg.weights, cfg.bottom_places).items():
            history.setdefault(code, []).append({"period": q.label, "as_of": q_as_of.isoformat(), "rank": r,
                                                 "score": s, "bottom": bottom})
        if q is period:
            latest = a.grids
    out = []
    for f in latest:
        h = history.get(f.code, [])
        streak = 0
        for entry in reversed(h):
            if not entry["bottom"]:
                break
            streak += 1
        now = h[-1] if h and h[-1]["period"] == period.label else {"score": None, "rank": None, "bottom": False}
        out.append(RankedGrid(code=f.code, name=f.name, score=now["score"], rank=now["rank"], bottom=now["bottom"],
                              bottom_streak=streak, flagged=streak >= cfg.consecutive_quarters, history=h,
                              figures=f.to_dict()))
    out.sort(key=lambda g: (g.rank is None, g.rank or 0, g.code))
    return Ranking(period=period.label, as_of=as_of, within=within, weights=dict(cfg.weights), grids=out)

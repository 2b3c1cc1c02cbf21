"""Figures a grid map is shaded by, counted per child grid in one grouped range scan each.

Division codes nest by prefix (hub/api/subtree.py), so "per child" is a GROUP BY on the code's
first 9 (townships), 12 (villages) or 15 (groups) characters within the parent's range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.api.keys import Principal
from hub.api.subtree import CodeRange
from hub.db.models import Event, Household, Organization, Person, PersonTag
from hub.events.deadlines import CLOSED_STATUSES

FIGURES = {"residents": "常住人口", "households": "户数", "events_open": "未办结事件", "events_overdue": "逾期事件",
           "elderly_alone": "独居老人", "care": "关爱对象", "key_units": "消防重点单位"}
CARE_TAGS = ("elderly_alone", "min_allowance", "extreme_poverty", "disabled", "aged_80")
TAG_NAMES = {"elderly": "60岁以上老人", "elderly_alone": "独居老人", "min_allowance": "低保", "extreme_poverty": "特困供养",
             "disabled": "残疾人", "aged_80": "高龄老人", "special_population": "特殊人群", "floating": "流动人口", "minor": "未成年人", "lives_alone": "独居",
             "unrectified_hazard_in_building": "所在房屋有未整改隐患"}
PREFIX_OF_LEVEL = {1: 9, 2: 12, 3: 15}


def _grouped(session: Session, column: Any, stmt: Any, rng: CodeRange | None, width: int) -> dict[str, int]:
    key = func.substr(column, 1, width)
    stmt = stmt.add_columns(key, func.count()).group_by(key)
    if rng is not None:
        stmt = stmt.where(rng.clause(column))
    return {str(k): int(n) for k, n in session.execute(stmt).tuples() if k}


def figure_by_child(session: Session, figure: str, rng: CodeRange | None, child_level: int,
                    key: Principal) -> dict[str, int]:
    """``figure`` for each grid of ``child_level`` inside ``rng``, keyed by the code prefix the child owns."""
    width = PREFIX_OF_LEVEL[child_level]
    if figure == "residents":
        return _grouped(session, Person.grid_code, select().select_from(Person).where(Person.status == "active"),
                        rng, width)
    if figure == "households":
        return _grouped(session, Household.grid_code,
                        select().select_from(Household).where(Household.active.is_(True)), rng, width)
    if figure == "key_units":
        return _grouped(session, Organization.grid_code,
                        select().select_from(Organization).where(Organization.key_unit.is_(True)), rng, width)
    if figure in ("events_open", "events_overdue"):
        stmt = select().select_from(Event).where(Event.status.not_in(CLOSED_STATUSES))
        if not key.has("read:sensitive"):
            stmt = stmt.where(Event.kind != "incident", Event.sensitive.is_(False))
        if figure == "events_overdue":
            stmt = stmt.where(Event.overdue.is_(True))
        return _grouped(session, Event.grid_code, stmt, rng, width)
    if figure in ("elderly_alone", "care"):
        tags = ("elderly_alone",) if figure == "elderly_alone" else CARE_TAGS
        stmt = (select().select_from(PersonTag).join(Person, Person.id == PersonTag.person_id)
                .where(PersonTag.tag.in_(tags), Person.status == "active"))
        if figure == "care":  # a person on two lists is one person to visit
            stmt = (select().select_from(Person).where(Person.status == "active", Person.id.in_(
                select(PersonTag.person_id).where(PersonTag.tag.in_(tags)))))
        return _grouped(session, Person.grid_code, stmt, rng, width)
    raise ValueError(f"unknown figure {figure!r}")


def child_key(code: str, level: int) -> str:
    """The code prefix a grid owns among its siblings (a township: its 9 significant digits)."""
    return code[: PREFIX_OF_LEVEL[level]]

"""随机抽查: each quarter a share of a grid's households is drawn for a supervisor to visit.

Reproducible: the draw is seeded by the grid and the period only, and drawn from the grid's
active households in id order, so the same grid and quarter give the same list on any machine.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import GridCell, Household, Person
from hub.errors import HubError
from hub.township.periods import Period
from hub.township.rules import TownshipRules


@dataclass
class SampledHousehold:
    household_id: str
    household_no: str | None
    grid_code: str | None
    address: str | None
    head_person_id: str | None
    head_name: str | None


@dataclass
class HouseholdSample:
    grid_code: str
    grid_name: str
    period: str
    share: float
    minimum: int
    households_in_grid: int
    seed: str
    households: list[SampledHousehold]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "households": [asdict(h) for h in self.households]}


def sample_size(total: int, share: float, minimum: int) -> int:
    return min(total, max(minimum, math.ceil(total * share)))


def draw(session: Session, grid_code: str, period: Period | str, *, rules: TownshipRules | None = None,
         share: float | None = None, minimum: int | None = None) -> HouseholdSample:
    if isinstance(period, str):
        period = Period.parse(period)
    cfg = (rules or TownshipRules()).assessment
    share = cfg.sample_share if share is None else share
    minimum = cfg.sample_min if minimum is None else minimum
    if not 0 < share <= 1 or minimum < 1:
        raise HubError("the sample share must be in (0, 1] and the minimum at least 1")
    cell = session.get(GridCell, grid_code)
    if cell is None:
        raise HubError(f"no grid {grid_code}")
    prefix = grid_code[:9] if cell.level == 1 else grid_code
    rows = session.execute(select(Household.id, Household.household_no, Household.grid_code, Household.address,
                                  Household.head_person_id)
                           .where(Household.grid_code.like(f"{prefix}%"), Household.active.is_(True))
                           .order_by(Household.id)).all()
    seed = hashlib.sha256(f"household-check:{grid_code}:{period.label}".encode()).hexdigest()[:16]
    picked = sorted(random.Random(seed).sample(rows, sample_size(len(rows), share, minimum)), key=lambda r: r.id)
    wanted = [r.head_person_id for r in picked if r.head_person_id]
    heads = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted))).all()) if wanted else {}
    return HouseholdSample(
        grid_code=grid_code, grid_name=cell.name, period=period.label, share=share, minimum=minimum,
        households_in_grid=len(rows), seed=seed,
        households=[SampledHousehold(r.id, r.household_no, r.grid_code, r.address, r.head_person_id,
                                     heads.get(r.head_person_id)) for r in picked])

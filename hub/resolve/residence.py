"""Where people live, and where they are registered (人户分离).

Every person has a registration grid (户籍: their household's grid in the population registry;
None for people registered outside the county) and a residence grid (where they live: what the
read API, the ledger and the grid summary count as the grid's 实有人口). The residence is the most
recent trustworthy sighting of where the person lives, kept with its provenance (``residence_basis``):

* an active public-security floating-persons record: its ``gridCode``, else the building its
  ``address`` names (a person of the county living in another village is recorded there too);
* the population registry's 现住址 (``xzz``, the current address when it differs from the registered
  one), through the building it names.

A sighting counts when it places the person in a grid. Without one, the person lives where they are
registered. A floating-persons record whose status is ``left`` is no sighting: the person has gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REGISTERED = "registered"
FLOATING = "floating_person"
CURRENT_ADDRESS = "current_address"


@dataclass(frozen=True)
class Sighting:
    """One record saying where a person lives now."""

    at: str  # the record's update time in the departments' clock, ``YYYY-MM-DD HH:MM:SS``
    grid_code: str
    building_id: str | None
    rule: str
    source: str
    stream: str
    source_key: str

    def basis(self) -> dict[str, Any]:
        return {"rule": self.rule, "source": self.source, "stream": self.stream, "source_key": self.source_key,
                "at": self.at or None}


@dataclass(frozen=True)
class Residence:
    grid_code: str | None
    building_id: str | None
    basis: dict[str, Any] | None


def stamp(value: Any) -> str:
    """Comparable text of an update time (ISO date-times sort as text; ``T`` and a zone are dropped)."""
    text = str(value or "").replace("T", " ")
    return text[:19]


def residence_of(registered: tuple[str | None, str | None], sightings: list[Sighting]) -> Residence | None:
    """The newest sighting (ties: the floating-persons record, then the larger key), else the registration.

    ``registered`` is (grid, building) of the person's household; None when neither says anything.
    """
    if sightings:
        best = max(sightings, key=lambda s: (s.at, s.rule == FLOATING, s.source, s.source_key))
        return Residence(best.grid_code, best.building_id, best.basis())
    grid, building = registered
    if grid is None and building is None:
        return None
    return Residence(grid, building, {"rule": REGISTERED})

"""Households from the population registry: one 户号 is one household; the head is the person
holding the head's citizen ID (户主身份证号), linked through the person clusters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from hub.resolve.persons.golden import _neg
from hub.resolve.persons.records import Mention


def link_households(mentions: Sequence[Mention]) -> list[list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(mentions):
        groups[m.household_no or m.key].append(i)
    return list(groups.values())


def choose_head(candidates: dict[str, str | None] | None, household_id: str) -> str | None:
    """Of the persons holding the head's ID ({person id: their household id}; rarely several, when a
    steward kept two apart), the one registered in this household, else the smallest id: never an
    accident of reading order, so a full and an incremental run name the same head."""
    if not candidates:
        return None
    return min(candidates, key=lambda pid: (candidates[pid] != household_id, pid))


def golden_household(mentions: Sequence[Mention], head_of: Callable[[str | None], str | None]) -> dict[str, Any]:
    """``head_of`` names the person holding the head's citizen ID (blind index)."""
    live = sorted([m for m in mentions if not m.deleted] or list(mentions), key=lambda m: (_neg(m.updated), m.order))
    m = live[0]
    at = {"source": m.source, "stream": m.link_stream, "source_key": m.link_key, "rule": "precedence:population",
          "at": m.updated}
    status = str(m.attrs.get("status") or "0").strip()
    return {
        "household_no": m.household_no or m.key,
        "address": m.attrs.get("address"),
        "head_person_id": head_of(m.cid),
        "active": status in ("0", "active") and not m.deleted,
        "_provenance": {"household_no": at, "address": at, "head": at, "active": at},
    }

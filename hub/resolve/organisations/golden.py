"""An organisation's golden record: units first (the fire-safety register), then parties, then employer
names; the most recent record wins within a rank, and each value keeps its provenance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.resolve.persons.golden import _neg
from hub.resolve.persons.records import Mention

KEY_UNIT = "消防安全重点单位"


def golden_org(mentions: Sequence[Mention], person_of: dict[tuple[str, str, str], str]) -> dict[str, Any]:
    """Units first (the fire-safety register), then parties, then employer names; most recent wins within."""
    live = [m for m in mentions if not m.deleted] or list(mentions)

    def rank(m: Mention) -> tuple[Any, ...]:
        kind = 0 if m.link_key == m.key and m.attrs.get("party_kind") is None else 1 if m.credit else 2
        return (kind, _neg(m.updated), m.order)

    values: dict[str, Any] = {}
    prov: dict[str, Any] = {}

    def take(attr: str, column: str, get) -> None:  # type: ignore[no-untyped-def]
        for m in sorted(live, key=rank):
            value = get(m)
            if value not in (None, ""):
                values[column] = value
                prov[attr] = {"source": m.source, "stream": m.link_stream, "source_key": m.link_key,
                              "rule": "precedence:unit", "at": m.updated}
                return
        values[column] = None

    take("name", "name", lambda m: m.name)
    take("credit_code", "credit_code", lambda m: m.credit)
    take("category", "category", lambda m: m.attrs.get("category"))
    take("address", "address", lambda m: m.attrs.get("address"))
    take("legal_rep", "legal_representative", lambda m: m.attrs.get("legal_rep"))
    take("phone", "phone_enc", lambda m: m.phone_enc)
    take("lon", "lon", lambda m: _float(m.attrs.get("lon")))
    take("lat", "lat", lambda m: _float(m.attrs.get("lat")))
    values["name"] = values["name"] or "?"
    values["key_unit"] = values.get("category") == KEY_UNIT
    responsible = [person_of[(m.source, m.link_stream, f"{m.key}#责任人")] for m in sorted(live, key=rank)
                   if (m.source, m.link_stream, f"{m.key}#责任人") in person_of]
    values["responsible_person_id"] = responsible[0] if responsible else None
    values["provenance"] = prov
    return values


def _float(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None

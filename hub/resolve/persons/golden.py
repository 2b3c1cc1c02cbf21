"""Golden person records: per-attribute survivorship with provenance.

Each attribute has a rule: ``precedence`` over connectors (the population registry first for
name, birth date, gender and household; public security for floating status) or
``most_recent`` (phone). ``hub.yaml`` may override any attribute under ``survivorship:``, e.g.
``survivorship: {phone: most_recent, name: [population, public-security]}`` (connector or source
names). Provenance records, per attribute, the source record, the rule and the record's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.db.base import stored_date
from hub.db.provenance import MARK
from hub.resolve.persons.records import Mention

ORDER = ["population", "civil-affairs", "public-security", "fire-safety", "dispute-mediation"]
DEFAULT_RULES: dict[str, str | list[str]] = {
    "name": ORDER, "birth_date": ORDER, "gender": ORDER, "ethnicity": ORDER, "citizen_id": ORDER,
    "household": ["population"], "relation_to_head": ["population"],
    "address": ["population", "public-security", "civil-affairs"],
    "status": ["population", "public-security"], "phone": "most_recent",
}
ATTRIBUTES = ("name", "birth_date", "gender", "ethnicity", "citizen_id", "phone", "household", "relation_to_head",
              "address", "status")
POPULATION_STATUS = {"死亡": "deceased", "迁出": "moved_out"}
WELFARE_STATUS = {"在保": "active", "停保": "suspended"}


def rules(config: Any) -> dict[str, str | list[str]]:
    out = dict(DEFAULT_RULES)
    override = getattr(config, "survivorship", None) or {}
    if isinstance(override, dict):
        for key, value in override.items():
            out[str(key)] = value if isinstance(value, str) else [str(v) for v in value]
    return out


def mention_status(m: Mention) -> str | None:
    raw = m.attrs.get("status")
    if raw is None:
        return None
    raw = str(raw).strip()
    if m.connector == "population":
        if raw in ("0", "active"):
            return "active"
        return POPULATION_STATUS.get(str(m.attrs.get("cancel_reason") or "").strip(), "moved_out")
    if "floating" in m.stream:
        return "left" if raw.lower() == "left" else "active"
    return None


def _value(m: Mention, attr: str) -> Any:
    if attr == "name":
        return m.name
    if attr == "birth_date":
        return m.birth[:10] if m.birth else None
    if attr == "gender":
        return m.gender if m.gender in ("M", "F") else None
    if attr == "citizen_id":
        return (m.cid, m.cid_enc) if m.cid else None
    if attr == "phone":
        return (m.phone, m.phone_enc) if m.phone else None
    if attr == "household":
        return m.household_no
    if attr == "status":
        return mention_status(m)
    if attr == "ethnicity":
        return m.attrs.get("ethnicity")
    if attr == "relation_to_head":
        return m.attrs.get("relation_to_head")
    if attr == "address":
        return m.attrs.get("address") if not m.deleted else None
    return None


def _values_of(m: Mention) -> tuple[Any, ...]:
    """``_value`` of each of ``ATTRIBUTES``, in that order, in one call: a person with one record (most
    of a county's first run) takes them all, ten dispatches each otherwise."""
    a = m.attrs
    return (m.name, m.birth[:10] if m.birth else None, m.gender if m.gender in ("M", "F") else None,
            a.get("ethnicity"), (m.cid, m.cid_enc) if m.cid else None, (m.phone, m.phone_enc) if m.phone else None,
            m.household_no, a.get("relation_to_head"), None if m.deleted else a.get("address"), mention_status(m))


def _rank(m: Mention, order: list[str]) -> int:
    for i, name in enumerate(order):
        if name in (m.connector, m.source):
            return i
    return len(order)


def _loose_tie(m: Mention, attr: str) -> int:
    """A person the registry holds in two households: the one naming a family tie (not 99 其他) is home."""
    return int(attr in ("household", "relation_to_head") and str(m.attrs.get("relation_to_head") or "") == "99")


def by_recency(mentions: Sequence[Mention]) -> list[Mention]:
    """Live mentions, most recent first (arrival order breaks ties): survive() expects this order."""
    live = [m for m in mentions if not m.deleted] or list(mentions)
    if len(live) > 1:
        live.sort(key=lambda m: m.order)
        live.sort(key=lambda m: m.updated, reverse=True)
    return live


def survive(mentions: Sequence[Mention], attr: str, rule: str | list[str],
            ordered: list[Mention] | None = None) -> tuple[Any, dict[str, Any] | None]:
    """The surviving value of one attribute and where it came from."""
    v, m = _survivor(mentions, attr, rule, ordered)
    return (None, None) if m is None else (v, _origin(m, rule))


def _survivor(mentions: Sequence[Mention], attr: str, rule: str | list[str],
              ordered: list[Mention] | None = None) -> tuple[Any, Mention | None]:
    """The surviving value of one attribute and the mention it came from (None, None when none has one)."""
    best: tuple[int, int] | None = None
    chosen: tuple[Mention, Any] | None = None
    ordered = ordered if ordered is not None else by_recency(mentions)
    if len(ordered) == 1:  # most persons have one record: nothing to rank (a county's first run: 5M calls)
        v = _value(ordered[0], attr)
        chosen = None if v is None else (ordered[0], v)
    else:
        for m in ordered:
            v = _value(m, attr)
            if v is None:
                continue
            if rule == "most_recent":
                chosen = (m, v)
                break
            key = (_rank(m, rule), 0 if mention_status(m) in (None, "active") else 1,  # type: ignore[arg-type]
                   _loose_tie(m, attr))
            if best is None or key < best:
                best, chosen = key, (m, v)
    if chosen is None:
        return None, None
    m, v = chosen
    return v, m


def _origin(m: Mention, rule: str | list[str]) -> dict[str, Any]:
    return {"source": m.source, "stream": m.link_stream, "source_key": m.link_key, "rule": _label(m, rule),
            "at": m.updated}


def _neg(stamp: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in stamp)


class _Packed:
    """Provenance built in the column's packed form (:mod:`hub.db.provenance`) as it is found, equal to
    ``pack()`` of the ``{attr: {source, stream, source_key, rule, at}}`` dict: sources and rules numbered
    in the order they first appear. A county's first run gives ~10 attributes to each of its persons;
    building each entry as a dict and packing it again was a tenth of the entity step."""

    __slots__ = ("attrs", "rules", "sources")

    def __init__(self) -> None:
        self.sources: dict[tuple[Any, ...], int] = {}
        self.rules: dict[str, int] = {}
        self.attrs: dict[str, list[int]] = {}

    def add(self, attr: str, m: Mention, label: str) -> None:
        self.add_source(attr, (m.source, m.link_stream, m.link_key, m.updated), label)

    def add_source(self, attr: str, src: tuple[Any, ...], label: str) -> None:
        """``add`` with the record's (source, stream, source_key, at) made once by the caller."""
        if (i := self.sources.get(src)) is None:
            i = self.sources[src] = len(self.sources)
        if (r := self.rules.get(label)) is None:
            r = self.rules[label] = len(self.rules)
        self.attrs[attr] = [i, r]

    def value(self) -> dict[str, Any]:
        if not self.attrs:
            return {}
        return {MARK: 1, "src": [list(s) for s in self.sources], "rule": list(self.rules), "attr": self.attrs}


def _label(m: Mention, rule: str | list[str]) -> str:
    return "most_recent" if rule == "most_recent" else f"precedence:{m.connector}"


def golden_person(mentions: Sequence[Mention], rule_of: dict[str, str | list[str]],
                  household_ids: dict[str, str]) -> dict[str, Any]:
    """The person's column values plus ``provenance``; ``household_ids`` maps 户号 -> household id.

    ``provenance`` comes packed, as the column stores it (``hub.db.provenance.unpack`` gives the
    ``{attr: {source, stream, source_key, rule, at}}`` form)."""
    prov = _Packed()
    ordered = by_recency(mentions)
    # most persons have one record (a county's first run: 10 attributes of ~400k persons): its values
    # are the survivors, taken without ranking anything, as survive() would take them
    only = ordered[0] if len(ordered) == 1 else None
    if only is not None:
        found = _values_of(only)
        precedence = f"precedence:{only.connector}"
        source_of = (only.source, only.link_stream, only.link_key, only.updated)
        for attr, value in zip(ATTRIBUTES, found, strict=True):
            if value is not None:
                prov.add_source(attr, source_of, "most_recent" if rule_of.get(attr, ORDER) == "most_recent"
                                else precedence)
    else:
        found = []  # type: ignore[assignment]
        for attr in ATTRIBUTES:
            rule = rule_of.get(attr, ORDER)
            value, source = _survivor(mentions, attr, rule, ordered)
            if source is not None:
                prov.add(attr, source, _label(source, rule))
            found.append(value)
    name, birth, gender, ethnicity, cid, phone, household, relation, address, status = found
    values = {"name": name, "birth_date": stored_date(birth), "gender": gender, "ethnicity": ethnicity,
              "citizen_id_bidx": cid[0] if cid else None, "citizen_id_enc": cid[1] if cid else None,
              "phone_bidx": phone[0] if phone else None, "phone_enc": phone[1] if phone else None,
              "household_id": household_ids.get(household) if household else None,
              "relation_to_head": relation, "address": address, "status": status or "active"}
    registered = any(m.connector == "population" and mention_status(m) == "active" for m in mentions)
    floating = [m for m in mentions if "floating" in m.stream and mention_status(m) == "active"]
    values["floating"] = bool(floating) and not registered
    if floating:
        prov.add("floating", max(floating, key=lambda x: x.updated), "precedence:public-security")
    values["provenance"] = prov.value()
    return values


def welfare_rows(mentions: Sequence[Mention]) -> list[dict[str, Any]]:
    """Civil-affairs programme places: 在保 active, 停保 suspended, gone from the roster left."""
    rows = []
    for m in mentions:
        if m.connector != "civil-affairs":
            continue
        status = "left" if m.deleted else WELFARE_STATUS.get(str(m.attrs.get("status") or "").strip(), "active")
        since = next((m.attrs[k] for k in ("approved_on", "approval_date", "issued_on", "since") if m.attrs.get(k)),
                     None)
        details = {k: m.attrs[k] for k in ("lives_alone", "disability", "category") if m.attrs.get(k) is not None}
        rows.append({"programme": m.stream, "status": status, "since": stored_date(since), "until": None,
                     "details": details, "source_key": m.link_key})
    return sorted(rows, key=lambda r: (r["programme"], r["source_key"]))


def special_rows(mentions: Sequence[Mention]) -> list[dict[str, Any]]:
    rows = []
    for m in mentions:
        if "special" not in m.stream or m.deleted:
            continue
        rows.append({"category": str(m.attrs.get("category") or "unknown"), "since": stored_date(m.attrs.get("since")),
                     "status": str(m.attrs.get("status") or "active"), "supervisor": m.attrs.get("supervisor"),
                     "source_key": m.link_key, "note": None})
    return sorted(rows, key=lambda r: r["source_key"])

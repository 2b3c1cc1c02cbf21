"""Organisations: fire-safety units, dispute parties that are organisations, employers named by
floating persons. Linked by credit code first; a mention known only by name (an employer, a party
without a code) joins the one organisation carrying that normalised name, and when several
organisations share it (two 王记便利店 in two villages) it stays an organisation of its own
(method ``name_ambiguous``) rather than guess."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from hub.resolve.persons.clusters import UnionFind
from hub.resolve.persons.deterministic import Decisions
from hub.resolve.persons.golden import _neg
from hub.resolve.persons.records import Mention

KEY_UNIT = "消防安全重点单位"


def org_name(name: str | None) -> str | None:
    """Normalised for matching: NFKC, no spaces or brackets' spacing, simplified characters."""
    if not name:
        return None
    from hub.quality.identity import name as person_name

    s = unicodedata.normalize("NFKC", name)
    s = re.sub(r"\s+", "", s).replace("(", "（").replace(")", "）")
    return person_name(s) or None


def link_orgs(mentions: Sequence[Mention], old: dict[tuple[str, str, str], str],
              decisions: Decisions) -> tuple[list[list[int]], list[str]]:
    uf = UnionFind(len(mentions))
    method = ["unit_no"] * len(mentions)
    by_credit: dict[str, int] = {}
    for i, m in enumerate(mentions):
        if m.credit:
            method[i] = "credit_code"
            j = by_credit.setdefault(m.credit, i)
            if j != i:
                uf.union(j, i)
    registered: dict[str, set[int]] = defaultdict(set)  # name -> roots of records that stand on their own
    for i, m in enumerate(mentions):
        if (m.credit or m.link_key == m.key) and not m.link_key.endswith("#employer") and (n := org_name(m.name)):
            registered[n].add(uf.find(i))
    by_name: dict[str, int] = {}
    by_old: dict[str, int] = {}
    for i, m in enumerate(mentions):
        if m.deleted and (oid := old.get(m.address)):
            by_old.setdefault(oid, i)
    for i, m in enumerate(mentions):
        if m.credit or (m.link_key == m.key and m.attrs.get("party_kind") is None):
            continue  # a unit without a code is its own organisation (the department's key names it)
        if m.deleted and (oid := old.get(m.address)) and by_old[oid] != i:
            uf.union(by_old[oid], i)
            method[i] = "retained"
            continue
        n = org_name(m.name)
        if not n:
            continue
        roots = {uf.find(r) for r in registered.get(n, ())}
        if len(roots) == 1:
            uf.union(next(iter(roots)), i)
            method[i] = "name"
        elif roots:
            method[i] = "name_ambiguous"  # several organisations bear this name: nothing says which
        else:
            j = by_name.setdefault(n, i)
            if j != i:
                uf.union(j, i)
            method[i] = "name"
    by_ref = {m.ref: i for i, m in enumerate(mentions)}
    for pair in decisions.accepted:
        a, b = sorted(pair)
        if a in by_ref and b in by_ref:
            uf.union(by_ref[a], by_ref[b])
            method[by_ref[b]] = "steward"
    return uf.groups(), method


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

"""Organisations: fire-safety units, dispute parties that are organisations, employers named by
floating persons.

Linked by credit code first. A mention known only by name (an employer; a party whose code no
unit carries) joins the one registered organisation (a unit, or anything with a credit code)
bearing that normalised name. When several bear it (a 王记超市 in two villages), a contact phone
the mention shares with exactly one of them decides (a dispute party's phone, a unit's 联系电话);
otherwise where the mention is placed decides, finest evidence first: the employee's (or the dispute's) grid, its
village (the grid code's 12-digit part, or the village named in the address), its township (the
grid code's 9-digit part named through the grid registry, or the township in the address). Only
one candidate may fit; otherwise the mention stays an organisation of its own (method
``name_ambiguous``) and each candidate goes to the steward's review queue rather than a guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hub.resolve.address import building_key
from hub.resolve.persons.clusters import UnionFind
from hub.resolve.persons.deterministic import Decisions
from hub.resolve.persons.golden import _neg
from hub.resolve.persons.records import Mention

KEY_UNIT = "消防安全重点单位"
_PUNCT = re.compile(r"[\s\W_]+")
_SUFFIXES = (("有限责任公司", "有限公司"),)  # the same legal form written two ways; 店/超市 stay meaningful
_VILLAGE = re.compile(r"(?:^.*?(?:镇|乡|街道办事处|街道))?(.+?(?:村|社区|居委会))")
_TOWNSHIP = re.compile(r"^(.{1,12}?(?:镇|乡|街道))")
PLACE_LEVELS = ("grid", "village_code", "village", "township")  # finest first
Places = dict[str, set[str]]


def org_name(name: str | None) -> str | None:
    """Normalised for matching: NFKC, traditional → simplified, no spaces or punctuation, one legal-form spelling."""
    if not name:
        return None
    from hub.quality.identity import name as folded

    s = folded(unicodedata.normalize("NFKC", name)) or ""
    s = _PUNCT.sub("", s).upper()
    for variant, canonical in _SUFFIXES:
        if s.endswith(variant):
            s = s[: -len(variant)] + canonical
    return s or None


def places(m: Mention, townships: Mapping[str, str] | None = None) -> Places:
    """Where a mention sits, per level: a unit's own grid/address, an employer's employee's home, a
    dispute party's case. ``townships`` names a grid code's 9-digit township part (from the registry)."""
    prefix = "home_" if m.link_key.endswith("#employer") else "case_" if m.attrs.get("party_kind") else ""
    out: Places = {level: set() for level in PLACE_LEVELS}
    code = re.sub(r"\D", "", str(m.attrs.get(prefix + "grid_code") or ""))
    if len(code) >= 12:
        out["grid"].add(code)
        out["village_code"].add(code[:12])
        if townships and (town := townships.get(code[:9])):
            out["township"].add(town)
    key = building_key(m.attrs.get(prefix + "address"))
    if key and (hit := _VILLAGE.match(key)):
        out["village"].add(hit.group(1))
    if key and (hit := _TOWNSHIP.match(key)):
        out["township"].add(_township_name(hit.group(1)))
    village = org_name(m.attrs.get(prefix + "village"))
    if village and village.endswith(("村", "社区", "居委会")):
        out["village"].add(village)
    return out


def _township_name(name: str) -> str:
    """唐山镇 and 唐山镇街道办事处-style spellings compare equal; a registry name goes through the same."""
    return org_name(name.replace("街道办事处", "街道")) or name


def township_names(registry: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The grid registry's townships: 9-digit code part → normalised name."""
    return {code[:9]: _township_name(name) for code, name in registry if code and name}


def _placed(mine: Places, cands: dict[int, Places]) -> int | None:
    """The one candidate whose place fits the mention's at the finest level where any fits."""
    left = dict(cands)
    for level in PLACE_LEVELS:
        if level == "village" and mine["township"]:  # a 东村 in another township is another 东村
            left = {r: p for r, p in left.items() if not p["township"] or mine["township"] & p["township"]}
        fit = [r for r, p in left.items() if mine[level] & p[level]]
        if len(fit) == 1:
            return fit[0]
        if fit:
            return None  # two fit equally well: do not guess
        if level == "village_code":  # a unit in another village by code is not made one by its address
            left = {r: p for r, p in left.items() if not (mine[level] and p[level])}
    return None


class Register:
    """The organisations that stand on their own (units, holders of a code), by normalised name,
    with their units' places; kept by member index so later unions never lose an entry."""

    def __init__(self, mentions: Sequence[Mention], uf: UnionFind, stands: Callable[[int, Mention], bool],
                 townships: Mapping[str, str]) -> None:
        self.uf, self.townships = uf, townships
        self.named: dict[str, set[int]] = defaultdict(set)
        self.where: dict[int, Places] = {}
        self.refs: dict[int, list[str]] = defaultdict(list)
        self.phones: dict[int, set[str]] = defaultdict(set)
        for i, m in enumerate(mentions):
            if stands(i, m) and (n := org_name(m.name)):
                rep = uf.find(i)
                self.named[n].add(rep)
                self.refs[rep].append(m.ref)
                if m.phone:
                    self.phones[rep].add(m.phone)
                if m.attrs.get("party_kind") is None:
                    have = self.where.setdefault(rep, {level: set() for level in PLACE_LEVELS})
                    for level, keys in places(m, townships).items():
                        have[level] |= keys

    def choose(self, i: int, m: Mention, decisions: Decisions) -> tuple[int | None, str | None, dict[int, str]]:
        """(root to join, method, candidates); (None, "name_ambiguous", {root: a record of it, ...}) when
        several bear the name and the place does not tell them apart; (None, None, {}) when none bears it."""
        own = self.uf.find(i)
        roots: dict[int, Places] = {}
        phones: dict[int, set[str]] = defaultdict(set)
        shown: dict[int, str] = {}
        for rep in sorted(self.named.get(org_name(m.name) or "", ())):
            root = self.uf.find(rep)
            if root == own or any(decisions.rejects(m.ref, ref) for ref in self.refs.get(rep, ())):
                continue
            have = roots.setdefault(root, {level: set() for level in PLACE_LEVELS})
            for level, keys in self.where.get(rep, {}).items():
                have[level] |= keys
            phones[root] |= self.phones.get(rep, set())
            first = min(self.refs[rep])  # the same record names a candidate whichever records are in play
            shown[root] = min(shown.get(root, first), first)
        if len(roots) == 1:
            return next(iter(roots)), "name", {}
        if not roots:
            return None, None, {}
        by_phone = [root for root, known in phones.items() if m.phone and m.phone in known]
        if len(by_phone) == 1:  # the contact number a party gave is the one a namesake's unit registered
            return by_phone[0], "name_phone", {}
        pick = _placed(places(m, self.townships), roots)
        return (pick, "name_place", {}) if pick is not None else (None, "name_ambiguous", shown)


def _review(m: Mention, shown: dict[int, str], decisions: Decisions) -> list[dict[str, Any]]:
    """One pair per candidate for the steward; equally likely, so each scores 1/len(candidates)."""
    score = round(1 / len(shown), 6)
    return [{"left_key": m.ref, "right_key": ref, "score": score,
             "evidence": {"rule": "same name, several organisations; the place does not tell which",
                          "name": m.name, "candidates": len(shown)}}
            for ref in sorted(shown.values()) if frozenset((m.ref, ref)) not in decisions.known]


def link_orgs(mentions: Sequence[Mention], old: dict[tuple[str, str, str], str], decisions: Decisions,
              townships: Mapping[str, str] | None = None) -> tuple[list[list[int]], list[str], list[dict[str, Any]]]:
    """(groups of mention indexes, each mention's method, pairs for the steward's review queue)."""
    townships = townships or {}
    uf = UnionFind(len(mentions))
    method = ["unit_no"] * len(mentions)
    reviews: list[dict[str, Any]] = []
    by_credit: dict[str, int] = {}
    for i, m in enumerate(mentions):
        if m.credit:
            method[i] = "credit_code"
            j = by_credit.setdefault(m.credit, i)
            if j != i:
                uf.union(j, i)

    def is_unit(m: Mention) -> bool:  # a record of the organisation register itself
        return m.link_key == m.key and m.attrs.get("party_kind") is None

    # a party whose code no unit carries may be a unit registered without one: same name, no code
    with_unit = {uf.find(i) for i, m in enumerate(mentions) if is_unit(m)}
    credited = {uf.find(i) for i, m in enumerate(mentions) if m.credit}
    orphans = [i for i, m in enumerate(mentions) if m.credit and uf.find(i) not in with_unit and m.name]
    if orphans:
        bare = Register(mentions, uf, lambda i, m: is_unit(m) and uf.find(i) not in credited, townships)
        for i in orphans:
            if uf.find(i) in with_unit:
                continue  # another code-holder of its organisation already found the unit
            pick, how, shown = bare.choose(i, mentions[i], decisions)
            if pick is not None:
                uf.union(pick, i)
                with_unit.add(uf.find(i))
            method[i] = how or method[i]
            reviews += _review(mentions[i], shown, decisions) if shown else []
    register = Register(mentions, uf, lambda i, m: is_unit(m) or bool(m.credit), townships)
    by_name: dict[str, int] = {}
    by_old: dict[str, int] = {}
    for i, m in enumerate(mentions):
        if m.deleted and (oid := old.get(m.address)):
            by_old.setdefault(oid, i)
    for i, m in enumerate(mentions):
        if is_unit(m) or m.credit:
            continue  # the department's key or the code names it (a party's code tried above)
        if m.deleted and (oid := old.get(m.address)) and by_old[oid] != i:
            uf.union(by_old[oid], i)
            method[i] = "retained"
            continue
        n = org_name(m.name)
        if not n:
            continue
        pick, how, shown = register.choose(i, m, decisions)
        if pick is not None:
            uf.union(pick, i)
            method[i] = how
        elif how:
            method[i] = how  # several organisations bear this name: nothing says which
            reviews += _review(m, shown, decisions)
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
    return uf.groups(), method, reviews


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

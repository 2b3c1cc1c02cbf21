"""Link organisation mentions: fire-safety units, dispute parties that are organisations, employers
named by floating persons.

1. A credit code that passed the gate (its check character holds) identifies a firm: one code, one
   organisation, whatever names it was registered under (a re-registration is the same firm).
2. Units that name one firm written two ways (no code on one of them, or the same code) join when
   something besides the name ties them: the same contact phone or the same house. Two small firms
   in one village with names one character apart stay apart otherwise (a same-sound pair is asked).
3. A party whose code no unit carries is tried against the units registered without a code.
4. A mention known only by name goes to the register (see ``register``): link, ask, or apart.
5. What the register does not know groups by canonical core (two employers writing one unregistered
   firm two ways are one), never across divisions named differently.
6. Steward decisions override all of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from hub.resolve.address import building_key
from hub.resolve.organisations.names import Divisions, OrgName, relation
from hub.resolve.organisations.places import near, places
from hub.resolve.organisations.register import Register, canon_all
from hub.resolve.persons.clusters import UnionFind
from hub.resolve.persons.deterministic import Decisions
from hub.resolve.persons.records import Mention


def is_unit(m: Mention) -> bool:
    """A record of the organisation register itself (a fire-safety unit), not a mention inside another."""
    return m.link_key == m.key and m.attrs.get("party_kind") is None


def link_orgs(mentions: Sequence[Mention], old: dict[tuple[str, str, str], str], decisions: Decisions,
              townships: Mapping[str, str] | None = None, divisions: Divisions | None = None,
              ) -> tuple[list[list[int]], list[str], list[dict[str, Any]]]:
    """(groups of mention indexes, each mention's method, pairs for the steward's review queue)."""
    townships = townships or {}
    canon = canon_all(mentions, divisions)
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
    reviews += _tie_units(mentions, canon, uf, method, decisions, townships)

    with_unit = {uf.find(i) for i, m in enumerate(mentions) if is_unit(m)}
    credited = {uf.find(i) for i, m in enumerate(mentions) if m.credit}
    orphans = [i for i, m in enumerate(mentions) if m.credit and uf.find(i) not in with_unit and m.name]
    if orphans:  # a party's code no unit carries: the firm may be a unit registered without one
        bare = Register(mentions, uf, lambda i, m: is_unit(m) and uf.find(i) not in credited, townships, canon)
        for i in orphans:
            if uf.find(i) in with_unit:
                continue  # another code-holder of its organisation already found the unit
            choice = bare.choose(i, mentions[i], decisions)
            if choice.root is not None:
                uf.union(choice.root, i)
                with_unit.add(uf.find(i))
            method[i] = choice.method or method[i]
            reviews += choice.ask
    register = Register(mentions, uf, lambda i, m: is_unit(m) or bool(m.credit), townships, canon)
    by_core: dict[str, list[int]] = defaultdict(list)
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
        c = canon[i]
        if c is None:
            continue
        choice = register.choose(i, m, decisions)
        if choice.root is not None:
            uf.union(choice.root, i)
            method[i] = choice.method or "name"
            continue
        if choice.method:
            method[i] = choice.method
            reviews += choice.ask
            continue
        same = next((j for j in by_core[c.core] if c.compatible(canon[j])), None)  # type: ignore[arg-type]
        if same is not None:
            uf.union(same, i)
        else:
            by_core[c.core].append(i)
        method[i] = "name"
    by_ref = {m.ref: i for i, m in enumerate(mentions)}
    for pair in decisions.accepted:
        a, b = sorted(pair)
        if a in by_ref and b in by_ref:
            uf.union(by_ref[a], by_ref[b])
            method[by_ref[b]] = "steward"
    return uf.groups(), method, reviews


def _tie_units(mentions: Sequence[Mention], canon: Sequence[OrgName | None], uf: UnionFind, method: list[str],
               decisions: Decisions, townships: Mapping[str, str]) -> list[dict[str, Any]]:
    """Units naming one firm two ways join when a phone or a house ties them; a same-sound or same-core
    pair in one village with nothing else is asked. Two different credit codes are two firms."""
    units = [i for i, m in enumerate(mentions) if is_unit(m) and canon[i] is not None and not m.deleted]
    buckets: dict[str, list[int]] = defaultdict(list)
    for i in units:
        c = canon[i]
        for key in {c.core, *(f"{c.core[:k]}*{c.core[k + 1:]}" for k in range(len(c.core)))}:  # type: ignore[union-attr]
            buckets[key].append(i)
    asked: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) < 2 or len(members) > 50:
            continue  # a core fifty units share (a chain's name?) is no tie by itself
        for x, a in enumerate(members):
            for b in members[x + 1:]:
                if (a, b) in seen or uf.find(a) == uf.find(b):
                    continue
                seen.add((a, b))
                ma, mb = mentions[a], mentions[b]
                if ma.credit and mb.credit and ma.credit != mb.credit:
                    continue
                how = relation(canon[a], canon[b])  # type: ignore[arg-type]
                if how is None or decisions.rejects(ma.ref, mb.ref):
                    continue
                phone = bool(ma.phone and ma.phone == mb.phone)
                house = (k := building_key(ma.attrs.get("address"))) is not None and k == building_key(
                    mb.attrs.get("address"))
                if phone or house:
                    uf.union(a, b)
                    method[b] = "name_phone" if phone else "name_address"
                elif how in ("same_text", "same_core", "same_sound") and near(
                        places(ma, townships), places(mb, townships)) and frozenset((ma.ref, mb.ref)) not in decisions.known:
                    asked.append({"left_key": ma.ref, "right_key": mb.ref, "score": 0.5 if how != "same_sound" else 0.4,
                                  "evidence": {"rule": "two units in one village, names alike, nothing else ties them",
                                               "relation": how, "name": ma.name, "candidate_name": mb.name,
                                               "same_phone": False, "same_house": False, "candidates": 1}})
    return asked

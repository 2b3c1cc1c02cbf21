"""The register: organisations that stand on their own (fire-safety units, holders of a credit code),
indexed by canonical name so that a mention written another way still finds its firm.

A mention is compared with the register at the closest relation that finds anyone: the same core
(``华泰机械制造`` however the divisions, legal form and brackets were written), else the name people
use (``康乐足浴`` for ``康乐足浴中心``), else one character slipped to one of the same sound (宏运/鸿运).
Then three bands. **Link** when one firm fits: alone under that name, or told apart by the contact
phone, by the place (finest first), or by the exact name as registered; a looser relation (name people
use, same sound) needs the phone or the same village besides. **Ask the steward** when several fit
equally or a loose relation has nothing beside it; the pair goes to the review queue with its evidence.
**Apart** otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.resolve.organisations.names import Divisions, OrgName, canonical, relation, sound_key
from hub.resolve.organisations.places import PLACE_LEVELS, Places, merge, near, placed, places
from hub.resolve.persons.clusters import UnionFind
from hub.resolve.persons.deterministic import Decisions
from hub.resolve.persons.records import Mention

CLOSE = ("same_core",)
LONG = 5  # a core this long, one of a kind in the county, is that firm however far its mention lives  # relations that link on the name when one firm fits
LOOSE_SCORE = {"same_core": 1.0, "abbreviation": 0.7, "same_sound": 0.6, "abbreviation_sound": 0.5}


@dataclass
class Choice:
    """What the register says of one mention: the root to join (or None), how, and what to ask."""

    root: int | None = None
    method: str | None = None
    ask: list[dict[str, Any]] = field(default_factory=list)


class Register:
    """Register members by index (later unions never lose an entry), with their canonical names."""

    def __init__(self, mentions: Sequence[Mention], uf: UnionFind, stands: Callable[[int, Mention], bool],
                 townships: Mapping[str, str], canon: Sequence[OrgName | None]) -> None:
        self.mentions, self.uf, self.townships, self.canon = mentions, uf, townships, canon
        self.by_core: dict[str, set[int]] = defaultdict(set)
        self.by_sound: dict[str, set[int]] = defaultdict(set)
        self.where: dict[int, Places] = {}
        self.members: list[int] = []
        for i, m in enumerate(mentions):
            c = canon[i]
            if c is None or not stands(i, m):
                continue
            self.members.append(i)
            self.by_core[c.core].add(i)
            for key in sound_key(c.core):
                self.by_sound[key].add(i)
            if m.attrs.get("party_kind") is None:  # a party's case is not where its firm is
                self.where[i] = places(m, townships, c)

    def related(self, c: OrgName) -> tuple[str | None, list[int]]:
        """The closest relation at which any member is compatible with ``c``, and those members."""
        same = [j for j in self.by_core.get(c.core, ()) if c.compatible(self.canon[j])]  # type: ignore[arg-type]
        if same or c.generic:
            return ("same_core" if same else None), same
        found: dict[str, list[int]] = defaultdict(list)
        for j in {j for key in sound_key(c.core) for j in self.by_sound.get(key, ())}:
            how = relation(c, self.canon[j])  # type: ignore[arg-type]
            if how:
                found[how].append(j)
        for how in ("abbreviation", "same_sound", "abbreviation_sound"):  # written out before sounded alike
            if found.get(how):
                return how, sorted(found[how])
        return None, []

    def choose(self, i: int, m: Mention, decisions: Decisions) -> Choice:
        c = self.canon[i]
        if c is None:
            return Choice()
        how, hits = self.related(c)
        own = self.uf.find(i)
        roots: dict[int, Places] = {}
        phones: dict[int, set[str]] = defaultdict(set)
        texts: dict[int, set[str]] = defaultdict(set)
        shown: dict[int, int] = {}
        for j in sorted(hits):
            root = self.uf.find(j)
            if root == own or decisions.rejects(m.ref, self.mentions[j].ref):
                continue
            merge(roots.setdefault(root, {level: set() for level in PLACE_LEVELS}), self.where.get(j, {}))
            if self.mentions[j].phone:
                phones[root].add(self.mentions[j].phone)
            texts[root].add(self.canon[j].text)  # type: ignore[union-attr]
            shown[root] = min(shown.get(root, j), j, key=lambda k: self.mentions[k].ref)
        if not roots:
            return Choice()
        mine = places(m, self.townships, c)
        by_phone = [r for r, known in phones.items() if m.phone and m.phone in known]
        if len(by_phone) == 1:  # the contact number the mention gave is the one the firm registered
            return Choice(by_phone[0], "name_phone" if how in CLOSE else f"{how}_phone")
        if how in CLOSE:
            if len(roots) == 1:
                return Choice(next(iter(roots)), "name")
            # several firms share the core: where the mention sits, or the one registered under this very
            # name; when the two point at different firms, that is a question, not a choice
            pick = placed(mine, roots)
            exact = [r for r, t in texts.items() if c.text in t]
            spelt = exact[0] if len(exact) == 1 else None
            if pick is not None and spelt in (None, pick):
                return Choice(pick, "name_place")
            if pick is None and spelt is not None:
                return Choice(spelt, "name_exact")
        elif len(roots) == 1:  # the only firm so named: the place must not speak against it
            root, theirs = next(iter(roots.items()))
            town = mine["township"] & theirs["township"]
            conflict = bool(mine["township"] and theirs["township"] and not town)
            if near(mine, theirs) or town:
                return Choice(root, f"{how}_place")
            if len(c.core) >= LONG or (how == "abbreviation" and not conflict):  # 信成汽车配件: a slip, not a firm
                return Choice(root, how)
        elif (pick := placed(mine, roots)) is not None and near(mine, roots[pick]):
            return Choice(pick, f"{how}_place")
        evidence = {"rule": _RULES[how] if len(roots) == 1 else "several organisations fit; nothing tells which",
                    "relation": how, "name": m.name, "core": c.core, "candidates": len(roots),
                    "mention_place": {k: sorted(v) for k, v in mine.items() if v}}
        score = round(LOOSE_SCORE.get(how or "", 0.5) / len(roots), 6)
        ask = [{"left_key": m.ref, "right_key": self.mentions[j].ref, "score": score,
                "evidence": evidence | {"candidate_name": self.mentions[j].name,
                                        "candidate_core": self.canon[j].core,  # type: ignore[union-attr]
                                        "candidate_place": {k: sorted(v) for k, v in roots[r].items() if v},
                                        "same_phone": bool(m.phone and m.phone in phones[r]),
                                        "same_village": near(mine, roots[r]) is not None}}
               for r, j in sorted(shown.items(), key=lambda kv: self.mentions[kv[1]].ref)
               if frozenset((m.ref, self.mentions[j].ref)) not in decisions.known]
        return Choice(None, "name_ambiguous" if len(roots) > 1 else f"{how}_review", ask)


_RULES = {"same_core": "same name as registered", "abbreviation": "the name people use; the place speaks against it",
          "same_sound": "one character of the same sound; nothing else ties it",
          "abbreviation_sound": "the name people use with one character of the same sound; nothing else ties it"}


def canon_all(mentions: Sequence[Mention], divisions: Divisions | None) -> list[OrgName | None]:
    memo: dict[str, OrgName | None] = {}
    out = []
    for m in mentions:
        name = m.name or ""
        if name not in memo:
            memo[name] = canonical(name, divisions)
        out.append(memo[name])
    return out

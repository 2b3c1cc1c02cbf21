"""Deterministic person links: one citizen ID (blind index, 15->18 already upgraded by the gate) is one
person; a steward's accept joins two records, a steward's reject keeps two records apart even when
they share an ID (the rejected record then stands on its own evidence)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import MatchReview
from hub.resolve.persons.clusters import UnionFind
from hub.resolve.persons.records import Mention


@dataclass
class Decisions:
    """Steward decisions by record ref (``source|stream|source_key``); they override the model."""

    accepted: set[frozenset[str]] = field(default_factory=set)
    rejected: set[frozenset[str]] = field(default_factory=set)
    known: set[frozenset[str]] = field(default_factory=set)  # every pair already in the queue

    def rejects(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self.rejected


def load_decisions(session: Session, entity_type: str) -> Decisions:
    out = Decisions()
    for left, right, status in session.execute(
            select(MatchReview.left_key, MatchReview.right_key, MatchReview.status)
            .where(MatchReview.entity_type == entity_type)):
        pair = frozenset((left, right))
        out.known.add(pair)
        if status == "accepted":
            out.accepted.add(pair)
        elif status == "rejected":
            out.rejected.add(pair)
    return out


def link_by_keys(mentions: Sequence[Mention], old: dict[tuple[str, str, str], str],
                 decisions: Decisions) -> tuple[UnionFind, list[str | None], list[bool]]:
    """Union by citizen ID, retained links of data-less tombstones, steward accepts.

    Returns the union-find, each mention's link method, and whether it is anchored (has an ID
    that survived the steward's rejects).
    """
    n = len(mentions)
    uf = UnionFind(n)
    method: list[str | None] = [None] * n
    anchored = [bool(m.cid) for m in mentions]
    by_ref = {m.ref: i for i, m in enumerate(mentions)}
    for pair in decisions.rejected:
        a, b = sorted(pair)
        ia, ib = by_ref.get(a), by_ref.get(b)
        if ia is not None and ib is not None and mentions[ia].cid and mentions[ia].cid == mentions[ib].cid:
            anchored[max(ia, ib, key=lambda i: mentions[i].order)] = False
    first: dict[str, int] = {}
    for i, m in enumerate(mentions):
        if anchored[i]:
            method[i] = "citizen_id"
            j = first.setdefault(m.cid or "", i)
            if j != i:
                uf.union(j, i)
    by_old: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(mentions):
        oid = old.get(m.address)
        if oid is not None:
            by_old[oid].append(i)
    for i, m in enumerate(mentions):
        if m.deleted and not anchored[i]:
            oid = old.get(m.address)
            if oid is not None:  # a tombstone keeps the entity it had; it brings no new evidence
                method[i] = "retained"
                for j in by_old[oid]:
                    if j != i and (anchored[j] or not mentions[j].deleted):
                        uf.union(i, j)
                        break
    for pair in decisions.accepted:
        a, b = sorted(pair)
        ia, ib = by_ref.get(a), by_ref.get(b)
        if ia is not None and ib is not None:
            uf.union(ia, ib)
            method[ib] = method[ib] or "steward"
            method[ia] = method[ia] or "steward"
    return uf, method, anchored

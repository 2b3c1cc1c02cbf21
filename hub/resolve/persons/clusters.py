"""Stable entity ids: clusters keep the ids their records already had; new ones derive from an anchor.

The id scheme (persons ``P-``, households ``H-``, organisations ``O-``):

- A new entity's id is the prefix plus a 64-bit BLAKE2b digest of its *anchor*: the
  ``source|stream|source_key`` of the earliest-arrived record in it (lowest ``source_record.id``).
  It is stored in every ``entity_link`` row and never renumbered.
- A cluster that contains records previously linked to one id keeps that id.
- **Merge**: a cluster holding records of several old ids keeps the id whose earliest record
  arrived first; every other id gets an ``entity_redirect`` (old -> survivor, reason ``merged``).
- **Split**: an old id spread over several clusters stays with the cluster holding its earliest
  record; the others get ids derived from their own anchors. A split-off part whose anchor is a
  formerly merged entity's anchor therefore gets that entity's id back, and its redirect is
  removed (reason: ``revived`` in the change feed): undoing a merge restores the original id.
- An id left with no records at all redirects to the entity holding most of its former records.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Addressed(Protocol):
    order: tuple[int, int]

    @property
    def address(self) -> tuple[str, str, str]: ...


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return ra

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            out[self.find(i)].append(i)
        return list(out.values())


def derive_id(prefix: str, address: tuple[str, str, str]) -> str:
    digest = hashlib.blake2b("|".join(address).encode(), digest_size=8).hexdigest()
    return f"{prefix}-{digest}"


@dataclass
class Assignment:
    ids: list[str]
    created: set[str] = field(default_factory=set)
    merged: dict[str, str] = field(default_factory=dict)  # absorbed id -> surviving id
    revived: set[str] = field(default_factory=set)  # ids brought back by a split (redirect dropped)
    split: set[str] = field(default_factory=set)  # ids that lost records to another cluster


def assign_ids(clusters: Sequence[Sequence[Addressed]], old: dict[tuple[str, str, str], str], prefix: str,
               live: set[str] | Callable[[list[str]], set[str]], redirected: set[str]) -> Assignment:
    """Ids for ``clusters`` given each record's previous id (``old``); see the module docstring.

    ``live``: the ids in use, or a function that, given the ids new entities would derive, returns those of
    them (and of their ``-n`` variants) in use: an incremental run asks the store about a few ids instead
    of reading every id of the county."""
    first: dict[str, tuple[int, int]] = {}
    home: dict[str, int] = {}
    for ci, members in enumerate(clusters):
        for m in members:
            oid = old.get(m.address)
            if oid is not None and (oid not in first or m.order < first[oid]):
                first[oid], home[oid] = m.order, ci
    won: dict[int, list[str]] = defaultdict(list)
    for oid, ci in home.items():
        won[ci].append(oid)
    result = Assignment(ids=[""] * len(clusters))
    derived = {ci: derive_id(prefix, (members[0] if len(members) == 1 else min(members, key=lambda m: m.order)).address)
               for ci, members in enumerate(clusters) if ci not in won}
    used = live(list(derived.values())) if callable(live) else set(live)
    for ci, members in enumerate(clusters):
        mine = sorted(won.get(ci, []), key=lambda o: first[o])
        if mine:
            result.ids[ci] = mine[0]
            for other in mine[1:]:
                result.merged[other] = mine[0]
            continue
        eid = base = derived[ci]
        n = 1
        while eid in used and eid not in redirected:
            n += 1
            eid = f"{base}-{n}"
        used.add(eid)
        result.ids[ci] = eid
        result.created.add(eid)
        if eid in redirected:
            result.revived.add(eid)
        if old:  # a first run has no previous ids: no per-cluster lookups to make
            result.split.update({old[a] for m in members if (a := m.address) in old})
    return result


def orphan_targets(orphans: set[str], clusters: Sequence[Sequence[Addressed]], ids: list[str],
                   old: dict[tuple[str, str, str], str]) -> dict[str, str | None]:
    """Where an id with no cluster left should redirect: the cluster holding most of its records."""
    votes: dict[str, Counter[str]] = {o: Counter() for o in orphans}
    for ci, members in enumerate(clusters):
        for m in members:
            oid = old.get(m.address)
            if oid in votes:
                votes[oid][ids[ci]] += 1
    return {o: (c.most_common(1)[0][0] if c else None) for o, c in votes.items()}

"""Person clusters: deterministic keys first, then Splink for mentions without a usable ID.

Three bands on Splink's match probability: at or above ``upper`` the mention joins the entity
(method ``probabilistic``), between ``lower`` and ``upper`` the pair goes to the steward's review
queue and the mention stays apart, below ``lower`` nothing happens. A rejected pair is never linked.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hub.resolve.persons import probabilistic as splink_model
from hub.resolve.persons.clusters import UnionFind
from hub.resolve.persons.deterministic import Decisions, link_by_keys
from hub.resolve.persons.golden import ORDER, by_recency, survive
from hub.resolve.persons.records import Mention

log = logging.getLogger(__name__)
UPPER, LOWER = 0.99, 0.6

Scorer = Callable[[dict[str, Any], pd.DataFrame, pd.DataFrame, int, pd.DataFrame], pd.DataFrame]
"""(model, unanchored, profiles, population, names_tf) -> scored pairs, as ``probabilistic.score``."""
_SCORER: ContextVar[Scorer | None] = ContextVar("person_pair_scorer", default=None)


@contextmanager
def scored_by(scorer: Scorer) -> Iterator[None]:
    """Score pairs with ``scorer`` instead of in this process (hub.province.prediction: in chunks,
    each a task of its own); the resolve around it is unchanged, so it needs no parameter for it."""
    token = _SCORER.set(scorer)
    try:
        yield
    finally:
        _SCORER.reset(token)


@dataclass
class PersonLinks:
    clusters: list[list[int]]
    method: list[str | None]
    score: list[float | None]
    reviews: list[dict[str, Any]] = field(default_factory=list)
    pull: set[str] = field(default_factory=set)  # entities outside the working set a mention matched


def _profile(uid: str, members: Sequence[Mention]) -> list[dict[str, Any]]:
    """One Splink row per distinct phone of a cluster (name, birth date, gender by precedence)."""
    ordered = by_recency(members)
    name, _ = survive(members, "name", ORDER, ordered)
    birth, _ = survive(members, "birth_date", ORDER, ordered)
    gender, _ = survive(members, "gender", ORDER, ordered)
    village = next((m.village for m in members if m.village), None)
    phones = sorted({m.phone for m in members if m.phone}) or [None]
    return [{"unique_id": f"{uid}~{k}", "name": name, "birth_date": birth, "gender": gender, "phone": p,
             "village": village} for k, p in enumerate(phones)]


def _row(uid: str, m: Mention) -> dict[str, Any]:
    return {"unique_id": uid, "name": m.name, "birth_date": m.birth[:10] if m.birth else None,
            "gender": m.gender if m.gender in ("M", "F") else None, "phone": m.phone, "village": m.village}


def load_or_train(model_path: Path, mentions: Sequence[Mention]) -> dict[str, Any] | None:
    """The stored model, retrained when the labelled data has doubled since (or never trained)."""
    labelled = [m for m in mentions if m.cid and not m.deleted and m.name]
    stored = None
    if model_path.is_file():
        stored = json.loads(model_path.read_text(encoding="utf-8"))
        if stored.get("_trained_on", 0) * 2 > len(labelled) or len(labelled) < 200:
            return stored
    if len(labelled) < 200:
        return stored
    groups: dict[str, list[Mention]] = defaultdict(list)
    for m in labelled:
        groups[m.cid or ""].append(m)
    multi = [g for g in groups.values() if len(g) > 1]
    singles = [g[0] for g in groups.values() if len(g) == 1]
    rng = random.Random(7)
    rng.shuffle(multi)
    sample: list[Mention] = [m for g in multi[:60_000] for m in g[:4]]
    sample += rng.sample(singles, min(len(singles), 100_000))
    frame = splink_model.frame(_row(str(i), m) for i, m in enumerate(sample))
    model = splink_model.train(frame, [m.cid or "" for m in sample])
    model["_trained_on"] = len(labelled)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_text(json.dumps(model, ensure_ascii=False, indent=1), encoding="utf-8")
    return model


def link_persons(mentions: Sequence[Mention], old: dict[tuple[str, str, str], str], decisions: Decisions,
                 model: dict[str, Any] | None, external: pd.DataFrame, population: int,
                 bands: tuple[float, float] = (LOWER, UPPER), names_tf: pd.DataFrame | None = None) -> PersonLinks:
    """Cluster ``mentions``; ``external`` holds profiles (unique_id ``e:<id>``) of entities outside them.

    ``names_tf`` are the county-wide name frequencies (an incremental working set is too small to
    estimate them); by default they come from ``mentions``.
    """
    lower, upper = bands
    uf, method, anchored = link_by_keys(mentions, old, decisions)
    score: list[float | None] = [None] * len(mentions)
    loose = [i for i, m in enumerate(mentions) if not anchored[i] and not m.deleted and method[i] is None
             and (m.name or m.phone)]
    result = PersonLinks(clusters=[], method=method, score=score)
    if loose and model is not None:
        _probabilistic(mentions, uf, loose, anchored, decisions, model, external, population, lower, upper, result,
                       names_tf)
    for i, _m in enumerate(mentions):
        if method[i] is None:
            method[i] = "singleton"
    result.clusters = uf.groups()
    return result


def _probabilistic(mentions, uf: UnionFind, loose: list[int], anchored: list[bool], decisions: Decisions,  # type: ignore[no-untyped-def]
                   model, external: pd.DataFrame, population: int, lower: float, upper: float,
                   out: PersonLinks, names_tf: pd.DataFrame | None) -> None:
    names = {mentions[i].name for i in loose if mentions[i].name}
    phones = {mentions[i].phone for i in loose if mentions[i].phone}
    loose_set = set(loose)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(mentions)):
        members[uf.find(i)].append(i)
    wanted = {uf.find(i) for i, m in enumerate(mentions)
              if i not in loose_set and not m.deleted and (m.name in names or (m.phone and m.phone in phones))}
    rows: list[dict[str, Any]] = []
    for root in sorted(wanted):
        rows += _profile(f"c:{root}", [mentions[j] for j in members[root]])
    profiles = splink_model.frame(rows)
    if not external.empty:
        ext = external[external["name"].isin(names) | external["phone"].isin(phones)]
        profiles = pd.concat([profiles, splink_model.frame(ext.to_dict("records"))], ignore_index=True)
    left = splink_model.frame(_row(f"u:{i}", mentions[i]) for i in loose)
    tf = names_tf if names_tf is not None else splink_model.name_tf(pd.Series([m.name for m in mentions]))
    pairs = (_SCORER.get() or splink_model.score)(model, left, profiles, population, tf)
    best: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for l_id, r_id, p in pairs[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(index=False):
        a, b = (l_id, r_id) if str(l_id).startswith("u:") else (r_id, l_id)
        if not str(a).startswith("u:"):
            continue
        best[int(str(a)[2:])].append((float(p), str(b).split("~")[0]))
        if str(b).startswith("u:"):
            best[int(str(b)[2:])].append((float(p), str(a)))
    ids_of: dict[int, set[str]] = defaultdict(set)
    for k, mk in enumerate(mentions):
        if anchored[k]:
            ids_of[uf.find(k)].add(mk.cid or "")
    for i in sorted(best, key=lambda k: mentions[k].order):
        m = mentions[i]
        # equally probable candidates in id order, not in the order the pairs arrived (DuckDB's, per chunk)
        for p, target in sorted(best[i], key=lambda t: (-t[0], t[1])):
            if target.startswith("e:"):
                if p >= upper:
                    out.pull.add(target[2:])
                continue
            j = int(target[2:])
            if uf.find(i) == uf.find(j):
                break
            group = members[uf.find(j)] if target.startswith("c:") else [j]
            rep = min(group, key=lambda k: mentions[k].order)
            if any(decisions.rejects(m.ref, mentions[k].ref) for k in group):
                continue
            ids_i, ids_j = ids_of.get(uf.find(i), set()), ids_of.get(uf.find(j), set())
            if p >= upper and not (ids_i and ids_j and ids_i != ids_j):
                root = uf.union(i, j)
                ids_of[root] = ids_i | ids_j
                out.method[i], out.score[i] = "probabilistic", round(p, 6)
                break
            if p >= lower:
                pair = frozenset((m.ref, mentions[rep].ref))
                if pair not in decisions.known:
                    out.reviews.append({"left_key": m.ref, "right_key": mentions[rep].ref, "score": round(p, 6),
                                        "evidence": {"name": m.name == mentions[rep].name,
                                                     "phone": bool(m.phone) and m.phone == mentions[rep].phone}})
                    decisions.known.add(pair)
            break


"""Organisations as departments really write them: the adversarial corpus (org_corpus.py) through the
real connectors, the gate, the store and the resolve stage, scored pairwise against its truth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from county import pairwise, predicted
from org_corpus import Corpus, load
from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import MatchReview
from hub.db.session import transaction


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Corpus, HubContext]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", "org-corpus-secret")
        mp.setenv("ORG_CORPUS_TOKEN", "org-corpus-token")
        truth, ctx, stop = load(tmp_path_factory.mktemp("org-corpus"))
        try:
            yield truth, ctx
        finally:
            stop()


def test_the_corpus_is_as_large_and_varied_as_asked(corpus) -> None:  # type: ignore[no-untyped-def]
    truth, _ = corpus
    assert len(truth.truth) >= 500 and len(set(truth.truth.values())) >= 150
    assert {"divisions", "legal_form", "bracket_note", "shortened", "same_sound", "spaces", "traditional",
            "full_width", "old_name"} <= set(truth.kinds), truth.kinds


def test_every_reference_is_loaded_and_linked(corpus) -> None:  # type: ignore[no-untyped-def]
    truth, ctx = corpus
    linked = predicted(ctx, "organization")
    missing = sorted(k for k in truth.truth if k not in linked)
    assert missing == []


def test_organisations_meet_the_accuracy_targets_on_the_corpus(corpus) -> None:  # type: ignore[no-untyped-def]
    truth, ctx = corpus
    score = pairwise(truth.truth, predicted(ctx, "organization"), set(truth.truth))
    assert score["true_pairs"] > 500
    assert score["precision"] >= 0.995 and score["recall"] >= 0.99, score


def test_look_alike_firms_stay_apart_and_re_registrations_are_one(corpus) -> None:  # type: ignore[no-untyped-def]
    truth, ctx = corpus
    linked = predicted(ctx, "organization")
    entity = {}
    for key, uid in truth.truth.items():
        if key[1] == "units":
            entity.setdefault(uid, set()).add(linked[key])
    lookalikes = [o for o in truth.orgs if o.kind == "shop" and o.brand in {b for pair in _pairs() for b in pair}]
    assert len(lookalikes) == 16
    assert len({e for o in lookalikes for e in entity[o.uid]}) == 16  # sixteen firms, sixteen organisations
    rereg = [o for o in truth.orgs if o.old_name]
    assert rereg and all(len(entity[o.uid]) == 1 for o in rereg)


def test_what_cannot_be_told_is_asked_with_its_evidence(corpus) -> None:  # type: ignore[no-untyped-def]
    _, ctx = corpus
    with transaction(ctx.db_url) as s:
        asked = s.scalars(select(MatchReview).where(MatchReview.entity_type == "organization")).all()
    assert asked, "nothing queued for the steward"
    for r in asked:
        assert {"rule", "relation", "name", "candidate_name"} <= set(r.evidence), r.evidence


def _pairs() -> list[tuple[str, str]]:
    from org_corpus import LOOKALIKES

    return [(a, b) for a, b, _ in LOOKALIKES]


def test_persons_named_beside_the_organisations_meet_their_targets(corpus) -> None:  # type: ignore[no-untyped-def]
    """Responsible persons, dispute applicants (a third of them a unit's responsible person again) and
    floating persons: many share a name with someone else, each has their own ID."""
    truth, ctx = corpus
    score = pairwise(truth.persons, predicted(ctx, "person"), set(truth.persons))
    assert score["records"] >= 700 and score["true_pairs"] >= 30
    assert score["precision"] >= 0.998 and score["recall"] >= 0.995, score

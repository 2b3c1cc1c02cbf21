"""A new entity never takes an id already in use: an incremental run that asks the store about the ids
it would derive (instead of reading every id of the county) hands out the same ids a full read would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from hub.db.base import Base
from hub.db.models import Person
from hub.resolve.persons.clusters import assign_ids, derive_id
from hub.resolve.store import ids_in_use


@dataclass(frozen=True)
class Rec:
    order: tuple[int, int]
    address: tuple[str, str, str]


A, B, C = (("population", "persons", k) for k in ("a", "b", "c"))


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    Base.metadata.create_all(engine)
    taken = [derive_id("P", A), f"{derive_id('P', A)}-2", derive_id("P", C), "P-someone-else"]
    with Session(engine) as s, s.begin():
        s.execute(insert(Person), [{"id": i, "name": "x", "status": "active", "floating": False, "provenance": {}}
                                   for i in taken])
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_new_ids_skip_ids_in_use_as_a_full_read_would(session: Session) -> None:
    clusters = [[Rec((1, 0), A)], [Rec((2, 0), B)], [Rec((3, 0), C)], [Rec((4, 0), A)]]  # A anchors two
    everything = set(session.scalars(select(Person.id)))
    probed = assign_ids(clusters, {}, "P", lambda derived: ids_in_use(session, Person.__table__, derived, set()),
                        set())
    read = assign_ids(clusters, {}, "P", everything, set())
    assert probed.ids == read.ids
    assert probed.ids == [f"{derive_id('P', A)}-3", derive_id("P", B), f"{derive_id('P', C)}-2",
                          f"{derive_id('P', A)}-4"]
    assert not set(probed.ids) & everything  # nobody's id handed to a new person


def test_only_the_derived_ids_are_looked_up(session: Session) -> None:
    found = ids_in_use(session, Person.__table__, [derive_id("P", B)], {"P-known"})
    assert found == {"P-known"}  # B's id is free; the others in the table were not asked about

"""`/persons/{id}` on SQLite reads the whole golden record in one statement: every person, under
every kind of key, gets byte for byte the answer the six separate statements gave."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.api.routers import persons
from hub.db.models import Person
from hub.db.session import transaction


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_one_statement_detail_equals_six_statements(served) -> None:  # type: ignore[no-untyped-def]
    with transaction(served.db_url) as s:
        ids = list(s.scalars(select(Person.id).order_by(Person.id)))
    kinds = ("all", "all-but-pii", "steward", "read:people", "village")

    def answers() -> dict[tuple[str, str], tuple[int, bytes]]:
        out = {}
        for kind in kinds:
            for pid in ids:
                r = served.get(f"/persons/{pid}", kind)
                out[kind, pid] = (r.status_code, r.content)
        return out

    assert persons.ONE_STATEMENT
    one = answers()
    persons.ONE_STATEMENT = False
    try:
        six = answers()
    finally:
        persons.ONE_STATEMENT = True
    assert one == six
    shown = [body for (kind, _), (status, body) in one.items() if kind == "all" and status == 200]
    assert len(shown) == len(ids)  # every person answered, and the lists were not all empty
    assert sum(b'"welfare":[{' in b for b in shown) > 0
    assert sum(b'"special_status":[{' in b for b in shown) > 0
    assert sum(b'"sources":[{' in b for b in shown) == len(ids)
    assert sum(b'"tags":["' in b for b in shown) > 0

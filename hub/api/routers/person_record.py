"""The statements that read one person's golden record, built once at import.

The detail route is the API's hot path: nothing here is rebuilt per request. On SQLite the whole
record is one statement (``DETAIL_SQLITE``); elsewhere the six below run in turn.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, select

from hub.db.models import EntityLink, Household, Person, PersonTag, SpecialStatus, WelfareEnrolment

P, H = Person.__table__, Household.__table__
PERSON_BY_ID = select(P).where(P.c.id == bindparam("pid"))
HOUSEHOLD_BY_ID = select(H.c.id, H.c.household_no, H.c.address, H.c.grid_code).where(H.c.id == bindparam("hid"))
TAGS_OF = select(PersonTag.tag, PersonTag.sensitive).where(PersonTag.person_id == bindparam("pid")).order_by(PersonTag.tag)
WELFARE_OF = (select(WelfareEnrolment.programme, WelfareEnrolment.status, WelfareEnrolment.since, WelfareEnrolment.until)
              .where(WelfareEnrolment.person_id == bindparam("pid"))
              .order_by(WelfareEnrolment.programme, WelfareEnrolment.id))
SPECIAL_OF = (select(SpecialStatus.category_enc, SpecialStatus.status, SpecialStatus.since, SpecialStatus.supervisor)
              .where(SpecialStatus.person_id == bindparam("pid")).order_by(SpecialStatus.id))
LINKS_OF = (select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.method, EntityLink.score)
            .where(EntityLink.entity_type == "person", EntityLink.entity_id == bindparam("pid"))
            .order_by(EntityLink.source, EntityLink.stream, EntityLink.source_key))


def _json_list(*columns: Any, where: Any) -> Any:
    """A child table's rows as one JSON array of arrays (SQLite), correlated with the person row."""
    return select(func.json_group_array(func.json_array(*columns))).where(where).scalar_subquery()



# SQLite: the whole detail in ONE statement (person, household, tags, welfare, special status, links as JSON
# arrays), instead of six round trips through the driver; each list is put in the order the six queries gave.
DETAIL_SQLITE = (
    select(P, H.c.id.label("hh_id"), H.c.household_no.label("hh_no"), H.c.address.label("hh_address"),
           H.c.grid_code.label("hh_grid"),
           _json_list(PersonTag.tag, PersonTag.sensitive, where=PersonTag.person_id == P.c.id).label("j_tags"),
           _json_list(WelfareEnrolment.programme, WelfareEnrolment.status, WelfareEnrolment.since,
                      WelfareEnrolment.until, WelfareEnrolment.id,
                      where=WelfareEnrolment.person_id == P.c.id).label("j_welfare"),
           _json_list(SpecialStatus.category_enc, SpecialStatus.status, SpecialStatus.since, SpecialStatus.supervisor,
                      SpecialStatus.id, where=SpecialStatus.person_id == P.c.id).label("j_special"),
           _json_list(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.method, EntityLink.score,
                      where=and_(EntityLink.entity_type == "person", EntityLink.entity_id == P.c.id)).label("j_links"))
    .select_from(P.outerjoin(H, H.c.id == P.c.household_id)).where(P.c.id == bindparam("pid")))


class DetailReader:
    """``DETAIL_SQLITE`` compiled once for an engine and run on the driver's own connection.

    The detail is the API's busiest statement: SQLAlchemy's per-execution work (cache key, compiled-cache
    lookup, execution context, result metadata) cost about as much CPU as SQLite took to answer it. The
    row is decoded by the same type processors SQLAlchemy would apply (dates, JSON, packed provenance),
    so a person's answer is byte for byte the same (tests/api/test_detail_one_statement.py)."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = DETAIL_SQLITE.compile(dialect=dialect)
        self.sql = compiled.string
        order = list(compiled.positiontup or [])
        values = compiled.construct_params({"pid": None})
        self._params = [values[name] for name in order]  # the literal values bound with the statement
        self._pid_at = [i for i, name in enumerate(order) if name == "pid"]
        columns = list(DETAIL_SQLITE.selected_columns)
        self._row = namedtuple("DetailRow", [c.key for c in columns])  # type: ignore[misc]  # noqa: PYI024
        self._decode = [(i, p) for i, c in enumerate(columns)
                        if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None]

    def first(self, connection: Connection, person_id: str) -> Any:
        params = list(self._params)
        for i in self._pid_at:
            params[i] = person_id
        raw = connection.connection.driver_connection.execute(self.sql, params).fetchone()  # type: ignore[union-attr]
        if raw is None:
            return None
        values = list(raw)
        for i, decode in self._decode:
            values[i] = decode(values[i])
        return self._row(*values)

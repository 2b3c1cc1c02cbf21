"""The statements that read one person's golden record, built once at import.

The detail route is the API's hot path: nothing here is rebuilt per request. On SQLite the whole
record is one statement (``DETAIL_SQLITE``); elsewhere the six below run in turn.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, func, select

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

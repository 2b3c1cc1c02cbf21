"""A province store: rows carry their county's code; PostgreSQL keeps each county in its own partition."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text

from hub.db.migrate import downgrade, upgrade
from hub.db.models import EntityLink, SourceRecord
from hub.db.session import get_engine
from hub.province.counties import county_of
from hub.province.partitions import ensure_partitions


def _record(source: str, key: str) -> dict[str, object]:
    return {"source": source, "stream": "persons", "source_key": key, "content_hash": "h", "data": {},
            "deleted": False, "first_run_id": "r1", "last_run_id": "r1"}


def test_county_code_comes_from_the_source_name() -> None:
    assert county_of("130182.population") == "130182"
    assert county_of("population") == ""
    assert county_of("13018.population") == ""  # five digits: not a county-qualified name


def test_every_row_carries_its_county(store_url: str) -> None:
    upgrade(store_url)
    engine = get_engine(store_url)
    ensure_partitions(engine, ["130182", "130183"])
    with engine.begin() as conn:  # one executemany of mixed counties: the default is per row
        conn.execute(insert(SourceRecord.__table__), [_record("130182.population", "a"),
                                                     _record("130183.population", "a"),
                                                     _record("population", "b")])
        conn.execute(insert(EntityLink.__table__), [
            {"source": "130183.population", "stream": "persons", "source_key": "a", "entity_type": "person",
             "entity_id": "P-1", "method": "citizen_id"}])
        codes = dict(conn.execute(select(SourceRecord.source, SourceRecord.county_code)).tuples().all())
        link = conn.execute(select(EntityLink.county_code)).scalar_one()
    assert codes == {"130182.population": "130182", "130183.population": "130183", "population": ""}
    assert link == "130183"


def test_postgres_partitions_by_county_and_moves_early_rows(postgres_url: str) -> None:
    upgrade(postgres_url)
    engine = get_engine(postgres_url)
    with engine.begin() as conn:  # loaded before its county had a partition: lands in DEFAULT
        conn.execute(insert(SourceRecord.__table__), [_record("130182.population", "early")])
    created = ensure_partitions(engine, ["130182", "130183"])
    assert sorted(created) == ["entity_link_c130182", "entity_link_c130183",
                               "source_record_c130182", "source_record_c130183"]
    assert ensure_partitions(engine, ["130182", "130183"]) == []  # idempotent
    with engine.begin() as conn:
        conn.execute(insert(SourceRecord.__table__), [_record("130183.population", "x"), _record("population", "y")])
        where = dict(conn.execute(text("SELECT source_key, tableoid::regclass::text FROM source_record")).tuples().all())
        kind = conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'source_record'")).scalar_one()
    assert kind == "p"
    assert where == {"early": "county_partitions.source_record_c130182",
                     "x": "county_partitions.source_record_c130183",
                     "y": "county_partitions.source_record_default"}
    # the same key in two counties is two records; twice in one county is refused
    with engine.begin() as conn:
        conn.execute(insert(SourceRecord.__table__), [_record("130182.population", "x")])
    with pytest.raises(Exception, match="duplicate key"), engine.begin() as conn:
        conn.execute(insert(SourceRecord.__table__), [_record("130182.population", "x")])
    with pytest.raises(ValueError, match="not a county division code"):
        ensure_partitions(engine, ["130100"])
    downgrade(postgres_url, "base")  # with county partitions present
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = 'county_partitions'")).scalar() == 0

"""Provenance is stored packed and read back in its documented shape, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import Column, MetaData, String, Table, create_engine, select, text

from hub.db.provenance import Provenance, pack, unpack

POP = {"source": "population", "stream": "persons", "source_key": "10000381", "rule": "precedence:population",
       "at": "2025-05-28 16:11:24"}
PROV = {
    "name": POP, "birth_date": POP, "gender": POP,
    "phone": {"source": "public-security", "stream": "floating-persons", "source_key": "FP7", "rule": "most_recent",
              "at": "2026-11-02 08:00:00"},
    "note": {"source": "steward", "why": "kept apart"},  # not the usual shape: kept as it is
}


def test_pack_then_unpack_gives_the_same_provenance_and_is_much_smaller() -> None:
    packed = pack(PROV)
    assert unpack(packed) == PROV
    assert packed is not None and len(packed["src"]) == 2 and len(packed["rule"]) == 2
    assert len(json.dumps(packed)) < 0.6 * len(json.dumps(PROV))
    assert pack({}) == {} and unpack(None) is None
    assert unpack(PROV) == PROV  # a row written before packing reads unchanged
    assert pack(packed) is packed  # never packed twice


def test_the_column_stores_it_packed_and_every_reader_sees_it_whole(tmp_path, postgres_url) -> None:  # type: ignore[no-untyped-def]
    for url in (f"sqlite:///{tmp_path / 'prov.db'}", postgres_url):
        meta = MetaData()
        table = Table("golden_test_provenance", meta, Column("id", String(8), primary_key=True),
                      Column("provenance", Provenance))
        engine = create_engine(url)
        meta.drop_all(engine)
        meta.create_all(engine)
        try:
            with engine.begin() as conn:
                conn.execute(table.insert(), [{"id": "P1", "provenance": PROV}])
                stored = conn.execute(text("SELECT provenance FROM golden_test_provenance")).scalar_one()
                stored = json.loads(stored) if isinstance(stored, str) else stored
                assert stored["~p"] == 1 and "source_key" not in json.dumps(stored)
                assert conn.execute(select(table.c.provenance)).scalar_one() == PROV
        finally:
            meta.drop_all(engine)
            engine.dispose()

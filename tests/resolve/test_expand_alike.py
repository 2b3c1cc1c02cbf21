"""An incremental resolve re-reads the stored organisations a day's names relate to (``alike``): the
blocked search must find every one the all-pairs comparison finds, written however the departments
write them (divisions in front, the name people use, a same-sound slip)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from org_corpus import BRANDS, FIRM_TRADES, LOOKALIKES, SHOP_TRADES, SOUND, TOWNSHIPS
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from hub.db.base import Base
from hub.db.models import GridCell, Organization
from hub.resolve.organisations.expand import alike, county_divisions
from hub.resolve.organisations.names import canonical, relation


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    Base.metadata.create_all(engine)
    names = [f"{b}{trade}有限公司" for b in BRANDS for trade, _ in FIRM_TRADES[:4]]
    names += [f"{b}{trade}" for b in BRANDS[:20] for trade, _ in SHOP_TRADES[:5]]
    names += [f"{a}{trade}" for a, b, trade in LOOKALIKES] + [f"{b}{trade}" for a, b, trade in LOOKALIKES]
    names += [f"{t}人民政府" for t in TOWNSHIPS]
    with Session(engine) as s, s.begin():
        s.execute(insert(GridCell), [{"code": f"1301090{i:02d}", "name": t, "level": 1}
                                     for i, t in enumerate(TOWNSHIPS)])
        s.execute(insert(Organization), [{"id": f"O-{i:04d}", "name": n} for i, n in enumerate(names)])
    with Session(engine) as s:
        yield s
    engine.dispose()


def _all_pairs(session: Session, wanted: list[str]) -> set[str]:
    _, divisions = county_divisions(session)
    ws = [c for n in wanted if (c := canonical(n, divisions)) is not None]
    out = set()
    for oid, name in session.execute(select(Organization.id, Organization.name)).tuples():
        c = canonical(name, divisions)
        if c is not None and any(relation(w, c) for w in ws):
            out.add(oid)
    return out


def test_a_days_names_find_the_organisations_they_name_as_all_pairs_would(session: Session) -> None:
    slip = {k: v for k, v in SOUND.items() if len(k) == 1}
    wanted = [f"藁城区{b}{FIRM_TRADES[0][1]}" for b in BRANDS[:10]]  # county in front, the short trade
    wanted += [f"{slip.get(b[0], b[0])}{b[1:]}{FIRM_TRADES[1][0]}" for b in BRANDS[10:25]]  # a same-sound slip
    wanted += [f"{b}{SHOP_TRADES[2][1]}" for b in BRANDS[:8]]  # the name people use
    wanted += [f"{a}{trade}" for a, _, trade in LOOKALIKES] + [f"{TOWNSHIPS[0]}人民政府", "不相干的名字"]
    found = alike(session, wanted)
    assert found == _all_pairs(session, wanted)
    by_name = dict(session.execute(select(Organization.name, Organization.id)).tuples().all())
    assert by_name["华泰机械制造有限公司"] in found  # 藁城区华泰机械
    assert by_name["宏运超市"] in found and by_name["鸿运超市"] in found  # one sound: both re-read
    assert by_name[f"{TOWNSHIPS[0]}人民政府"] in found and by_name[f"{TOWNSHIPS[1]}人民政府"] not in found
    assert len(found) < len(by_name) // 2  # the blocked search does not re-read the county

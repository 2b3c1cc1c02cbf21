"""The newest month's changed rows are kept by the planning scan, so the emit does not scan the sheet again
(issue 19: a day's roster was read twice). Whatever the path, a read emits the very rows a second scan gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hub_civil_affairs import snapshot
from hub_civil_affairs.roster import RosterSheet


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file of every full scan of a sheet's data rows, in order."""
    seen: list[str] = []
    original = RosterSheet.data_rows

    def counted(self: RosterSheet) -> Iterator[list[Any]]:
        seen.append(self.path.name)
        return original(self)

    monkeypatch.setattr(RosterSheet, "data_rows", counted)
    return seen


def october(kit: SimpleNamespace, *, repeat_unchanged: bool) -> list[Any]:
    """Month b's 低保对象 plus: a row without an ID, a key twice (its first row changed, or unchanged)."""
    sheets = kit.month_b()
    rows = sheets[0].rows
    rows.append(kit.dibao(7, "无证", "无证", ident=""))
    rows.append(kit.dibao(6, "孙强", "孙强", amount=800))  # 孙强 joins twice: first row new, so kept
    if repeat_unchanged:
        rows.append(kit.dibao(2, "侯琴", "朱磊", relation="配偶", amount=999))  # 侯琴's first row is unchanged
    return sheets


@pytest.mark.parametrize("repeat_unchanged", [False, True])
def test_kept_rows_emit_what_a_second_scan_emits(rosters: Path, kit: SimpleNamespace, scans: list[str],
                                                 monkeypatch: pytest.MonkeyPatch, repeat_unchanged: bool) -> None:
    _, state = kit.read_stream(rosters, "低保对象")
    kit.write_roster(rosters, "202610", october(kit, repeat_unchanged=repeat_unchanged))
    scans.clear()
    kept, kept_state = kit.read_stream(rosters, "低保对象", state)
    kept_scans = list(scans)
    monkeypatch.setattr(snapshot, "NEWS_MAX", 0)  # nothing may be kept: the emit scans the sheet again
    scans.clear()
    rescanned, rescanned_state = kit.read_stream(rosters, "低保对象", state)
    assert scans == ["民政对象_202610.xlsx"] * 2
    assert kept == rescanned and kept_state["keys"] and kit.vault.unseal(kept_state["keys"]) == kit.vault.unseal(rescanned_state["keys"])
    ids = [r["身份证号码"] for r in kept]
    assert ids.count(kit.cid(6)) == 2 and None in ids and (ids.count(kit.cid(2)) == 2) == repeat_unchanged
    assert (kit.cid(5), "delete") in {(r["身份证号码"], r["_op"]) for r in kept}
    assert kit.cid(3) not in ids  # 王琴: the same date and village written another way, not news
    # one scan when every row a key in the news has was kept; a repeated key whose first row was not: two
    assert kept_scans == ["民政对象_202610.xlsx"] * (2 if repeat_unchanged else 1)


def test_several_months_keep_the_newest_only(rosters: Path, kit: SimpleNamespace, scans: list[str]) -> None:
    """Older pending months are scanned twice as before (their sheet is not kept open either)."""
    kit.write_roster(rosters, "202610", kit.month_b())
    rows, _ = kit.read_stream(rosters, "低保对象")
    assert scans == ["民政对象_202609.xlsx", "民政对象_202610.xlsx", "民政对象_202609.xlsx"]
    assert {r["_month"] for r in rows} == {"202609", "202610"}

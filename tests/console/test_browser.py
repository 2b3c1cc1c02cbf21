"""End to end in the system chromium: a steward triages a quarantined row and accepts then undoes a
review pair; a grid user sees only their grid on the map; every page (and /docs) asks only loopback
and logs no browser error."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser import launched, log_in, open_page
from console_county import PASSWORDS
from sqlalchemy import select

from hub.db.models import ConsoleAction, GridCell, MatchReview, QuarantinedRow
from hub.db.session import transaction


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with launched() as b:
        yield b


@pytest.fixture
def steward(browser, served):  # type: ignore[no-untyped-def]
    context, page, rec = open_page(browser, served.url)
    log_in(page, "steward", PASSWORDS["steward"])
    yield page, rec
    context.close()
    assert not rec.errors, rec.errors
    assert not rec.outside(), rec.outside()


def _status(served, model, row_id: int) -> str:  # type: ignore[no-untyped-def]
    with transaction(served.county.ctx.db_url) as s:
        return s.get(model, row_id).status


def test_steward_triages_a_quarantined_row(steward, served) -> None:  # type: ignore[no-untyped-def]
    page, _ = steward
    with transaction(served.county.ctx.db_url) as s:
        first, second, third = s.scalars(select(QuarantinedRow.id).where(QuarantinedRow.status == "open")
                                         .order_by(QuarantinedRow.id).limit(3))
    page.goto("/console/quarantine")
    page.click(f"#q-{first} a")  # htmx: the raw row beside its reasons, in the side panel
    panel = page.locator("#detail .row-detail")
    panel.wait_for()
    assert "原始值" in panel.inner_text() and page.url.endswith("/console/quarantine")
    page.fill(f"#note-{first}", "来源系统已确认为测试数据")
    page.click("#detail button[value=dismiss]")
    page.wait_for_load_state("networkidle")
    assert "已驳回 1 行" in page.inner_text(".done")
    assert _status(served, QuarantinedRow, first) == "dismissed"
    # bulk: two rows in one action, logged per row, each undoable on its own
    page.goto("/console/quarantine")
    for row_id in (second, third):
        page.check(f"#q-{row_id} input[name=ids]")
    page.fill("#bulk input[name=note]", "批量驳回：重复报送")
    page.click("#bulk button[value=dismiss]")
    page.wait_for_load_state("networkidle")
    assert "已驳回 2 行" in page.inner_text(".done")
    with transaction(served.county.ctx.db_url) as s:
        actions = {a.target_id: a for a in s.scalars(select(ConsoleAction).where(
            ConsoleAction.target == "quarantine", ConsoleAction.target_id.in_([second, third])))}
    assert actions[second].batch and actions[second].batch == actions[third].batch
    page.click(f"#action-{actions[second].id} button")  # htmx: undo one row of the batch
    page.locator(f"#action-{actions[second].id}", has_text="已撤销").wait_for()
    assert _status(served, QuarantinedRow, second) == "open"
    assert _status(served, QuarantinedRow, third) == "dismissed"
    assert _status(served, QuarantinedRow, first) == "dismissed"


def test_steward_accepts_then_undoes_a_review_pair(steward, served) -> None:  # type: ignore[no-untyped-def]
    page, _ = steward
    with transaction(served.county.ctx.db_url) as s:
        pair = s.scalar(select(MatchReview.id).where(MatchReview.status == "pending").order_by(MatchReview.id))
    page.goto("/console/review")
    page.click(f"#pair-{pair} a")
    page.wait_for_load_state("networkidle")
    table = page.inner_text("table.compare")
    assert "姓名" in table and ("一致" in table or "不同" in table)
    assert "匹配概率" in page.inner_text(".evidence")
    page.fill("form.inline-actions input[name=reason]", "同名同村，出生日期一致")
    page.click("form.inline-actions button[value=accept]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#pair-status") == "已接受"
    assert _status(served, MatchReview, pair) == "accepted"
    page.click("text=撤销")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#pair-status") == "待审核"
    assert _status(served, MatchReview, pair) == "pending"
    with transaction(served.county.ctx.db_url) as s:
        logged = s.scalars(select(ConsoleAction).where(ConsoleAction.target == "review",
                                                       ConsoleAction.target_id == pair)).all()
    assert [(a.action, a.username, a.note, a.undone_by) for a in logged] == [
        ("accept", "steward", "同名同村，出生日期一致", "steward")]


def test_grid_user_sees_only_their_grid_on_the_map(browser, served) -> None:  # type: ignore[no-untyped-def]
    context, page, rec = open_page(browser, served.url)
    try:
        log_in(page, "grid", PASSWORDS["grid"])
        assert page.url.endswith("/console/map")
        page.locator("#map.drawn").wait_for()
        drawn = int(page.get_attribute("#map", "data-features") or 0)
        codes = page.locator("#figures tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
        with transaction(served.county.ctx.db_url) as s:
            groups = sorted(s.scalars(select(GridCell.code).where(GridCell.parent_code == served.county.village,
                                                                  GridCell.retired.is_(False))))
        assert sorted(codes) == groups and drawn == len(groups)
        assert page.locator("path.leaflet-interactive").count() == len(groups)
        assert not rec.errors, rec.errors
        page.goto(f"/console/map?grid={served.county.other_village}")
        assert "没有网格" in page.inner_text("body")
        refused = f"/console/map?grid={served.county.other_village}"
        assert all("404" in e for e in rec.errors) and any(refused in e for e in rec.errors), rec.errors
        rec.errors.clear()  # only the refused page itself answered 404
        page.goto(f"/console/grids/{served.county.village}")
        assert served.county.village in page.inner_text(".title-block")
    finally:
        context.close()
    assert not rec.errors, rec.errors
    assert not rec.outside(), rec.outside()


def test_every_page_and_docs_ask_only_loopback(steward, served) -> None:  # type: ignore[no-untyped-def]
    page, rec = steward
    village = served.county.village
    for path in ("/console/overview", "/console/quality", "/console/quarantine", "/console/review",
                 "/console/map", f"/console/map?grid={served.county.township}&figure=events_open",
                 f"/console/grids/{village}", f"/console/grids/{village}?tab=care", "/console/events", "/console/assessment"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.locator("main h1").count() + page.locator("main .title-block").count() >= 1, path
    page.goto("/console/data-docs/index.html")  # the GX Data Docs, localised
    page.wait_for_load_state("networkidle")
    page.locator("table tbody tr td").first.wait_for()  # bootstrap-table (vendored) drew the run list
    link = re.search(r"validations/[^'\"]+\.html", page.content())
    assert link, "no validation result listed in the Data Docs"
    page.goto("/console/data-docs/" + link.group(0))
    page.wait_for_load_state("networkidle")
    assert "Expectation" in page.inner_text("body")
    assert any("/static/vendor/bootstrap/bootstrap.min.css" in u for u in rec.requests)
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "gridhub read API" in page.inner_text(".swagger-ui .info .title")
    assert any(u.endswith("/docs-assets/swagger-ui-bundle.js") for u in rec.requests)

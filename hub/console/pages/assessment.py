"""The assessment page (督查考核): the quarterly ranking of villages with the bottom-places flag, each
village's figures over the last quarters as small server-side SVG charts, and the downloads (the
assessment table, a grid's ledger). Figures and ranking come from hub.township, as ``hub assess`` does."""

from __future__ import annotations

import datetime as dt
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.audit import audit_persons
from hub.console.app import render
from hub.console.auth import ConsoleUserView
from hub.console.deps import PeopleDep, Refused, SessionDep, UserDep, console_of
from hub.console.display import beijing_today
from hub.console.pages.grids import Code, visible_cell
from hub.db.models import GridCell
from hub.errors import HubError

router = APIRouter()
QUARTERS_SHOWN = 4
RATE_NAMES = {"closure_rate": "办结率", "on_time_rate": "按期办结率", "satisfaction": "满意率",
              "hazards_rectified_on_time_rate": "隐患按期整改率", "inspection_coverage": "重点单位检查覆盖率"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rules(request: Request) -> Any:
    from hub.township.rules import TownshipRules

    return TownshipRules.from_config(console_of(request).ctx.config)


def _period(text: str | None) -> Any:
    """The quarter asked for, else the last finished quarter (Beijing's date)."""
    from hub.township.periods import Period, quarter

    if text:
        try:
            return Period.parse(text)
        except HubError as exc:
            raise Refused(400, str(exc)) from None
    today = beijing_today()
    return quarter(today.year, (today.month - 1) // 3 + 1).previous()


def _within(session: Session, user: ConsoleUserView, township: str | None) -> tuple[str | None, list[Any]]:
    """Whose villages are ranked: the user's own grid, else the township asked for (the ranking is a
    township's), else the first; and the townships a county-wide user may pick from."""
    if user.grid_code is not None:
        if township and township != user.grid_code:
            visible_cell(session, user, township)  # 404 outside the user's subtree
            return township, []
        return user.grid_code, []
    townships = list(session.execute(select(GridCell.code, GridCell.name).where(
        GridCell.level == 1, GridCell.retired.is_(False)).order_by(GridCell.code)).tuples())
    if township:
        visible_cell(session, user, township)
        return township, townships
    return (townships[0][0] if townships else None), townships


def _series(session: Session, period: Any, within: str | None, rules: Any) -> tuple[list[str], dict[str, dict]]:
    """Each village's rates over the last quarters (oldest first), for the small charts."""
    from hub.township.assessment import assess

    quarters = [period]
    for _ in range(QUARTERS_SHOWN - 1):
        quarters.insert(0, quarters[0].previous())
    out: dict[str, dict[str, list[float | None]]] = {}
    for q in quarters:
        result = assess(session, q, 2, min(beijing_today(), q.end + dt.timedelta(days=30)), within=within, rules=rules)
        for g in result.grids:
            rates = g.rates
            for name in RATE_NAMES:
                out.setdefault(g.code, {}).setdefault(name, []).append(rates.get(name))
    return [q.label for q in quarters], out


@router.get("/assessment", response_class=HTMLResponse)
def assessment(request: Request, session: SessionDep, user: UserDep,
               period: Annotated[str | None, Query(max_length=8)] = None,
               township: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None) -> HTMLResponse:
    from hub.township.ranking import rank

    quarter = _period(period)
    if not quarter.is_quarter:
        raise Refused(400, "季度评比按季度进行，例如 2026Q3")
    rules = _rules(request)
    within, townships = _within(session, user, township)
    cache = console_of(request).cache
    ranking = cache.get(session, ("ranking", quarter.label, within),
                        lambda: rank(session, quarter, within=within, rules=rules))
    labels, series = cache.get(session, ("series", quarter.label, within),
                               lambda: _series(session, quarter, within, rules))
    choices = [quarter]
    for _ in range(5):
        choices.append(choices[-1].previous())
    return render(request, "assessment.html", ranking=ranking, labels=labels, series=series, rate_names=RATE_NAMES,
                  period=quarter.label, choices=[c.label for c in choices], townships=townships, within=within,
                  rules=rules.assessment, title=f"督查考核 {quarter.label}")


@router.get("/assessment.xlsx")
def assessment_download(request: Request, session: SessionDep, user: UserDep,
                        period: Annotated[str | None, Query(max_length=8)] = None,
                        township: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
                        level: Annotated[int, Query(ge=1, le=3)] = 2) -> Response:
    """The figures table as the printable workbook ``hub assess --xlsx`` writes."""
    from hub.township.assessment import assess
    from hub.township.ledger.figures import write_assessment

    quarter = _period(period)
    result = assess(session, quarter, level, within=_within(session, user, township)[0], rules=_rules(request))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "assessment.xlsx"
        write_assessment(result, path)
        body = path.read_bytes()
    name = f"assessment-{quarter.label}.xlsx"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/grids/{code}/ledger.xlsx")  # registered only with hub.township; 404 if its ledger is missing
def ledger_download(request: Request, code: Code, session: SessionDep, user: PeopleDep) -> Response:
    """The grid's printable ledger as this user may see it (masked unless a steward), audited with the persons."""
    if not console_of(request).ledger:
        raise Refused(404, "台账导出不可用")
    from hub.township.ledger import export_ledger

    visible_cell(session, user, code)
    out = BytesIO()
    info = export_ledger(session, console_of(request).vault, code, out, user.principal, rules=_rules(request))
    audit_persons(request, info.person_ids)
    name = f"ledger-{code}-{info.as_of.isoformat()}.xlsx"
    return Response(out.getvalue(), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def available(module: str = "hub.township.ranking") -> bool:
    """Whether hub.township's assessment (or its ledger) is installed: the console offers it only then."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True

"""Grid office pages: the grid map (drill down township → village → group, shaded by a figure) and the
grid page (title block, counts, ledger categories, care lists, households and buildings, paged)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.api.audit import audit_persons
from hub.api.masking import Masker
from hub.api.routers.grids import summary
from hub.api.subtree import subtree
from hub.console.app import PREFIX, render
from hub.console.auth import ConsoleUserView
from hub.console.deps import Refused, SessionDep, UserDep, console_of
from hub.console.display import Paging, beijing_today, page_url
from hub.console.figures import CARE_TAGS, FIGURES, TAG_NAMES, child_key, figure_by_child
from hub.db.models import Building, GridCell, Household, Person, PersonTag, Run
from hub.quality.identity import RELATION_NAMES

router = APIRouter()
Code = Annotated[str, Path(pattern=r"^[0-9]{12}([0-9]{3})?$")]
LEVELS = {1: "一级网格（乡镇）", 2: "二级网格（村/社区）", 3: "三级网格（村民小组）"}
RELATIONS = RELATION_NAMES
TABS = {"households": "住户", "care": "关爱名单", "buildings": "房屋", "children": "下级网格"}


def visible_cell(session: Session, user: ConsoleUserView, code: str | None) -> GridCell | None:
    """The grid asked for (None: the user's own grid, or the whole county); outside their subtree: 404."""
    code = code or user.grid_code
    if code is None:
        return None
    cell = session.get(GridCell, code)
    if cell is None or not user.sees(code):
        raise Refused(404, f"没有网格 {code}")
    return cell


def ancestors(session: Session, user: ConsoleUserView, cell: GridCell | None) -> list[GridCell]:
    """The breadcrumb down to ``cell``, starting at the highest grid the user may see."""
    chain: list[GridCell] = []
    while cell is not None and user.sees(cell.code):
        chain.insert(0, cell)
        cell = session.get(GridCell, cell.parent_code) if cell.parent_code else None
    return chain


def _children(session: Session, cell: GridCell | None) -> list[GridCell]:
    q = select(GridCell).where(GridCell.retired.is_(False)).order_by(GridCell.code)
    q = q.where(GridCell.level == 1) if cell is None else q.where(GridCell.parent_code == cell.code)
    return list(session.scalars(q))


def _figure(figure: str | None) -> str:
    figure = figure or "residents"
    if figure not in FIGURES:
        raise Refused(400, f"未知指标 {figure}")
    return figure


@router.get("/map", response_class=HTMLResponse)
def grid_map(request: Request, session: SessionDep, user: UserDep,
             grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
             figure: Annotated[str | None, Query(max_length=32)] = None) -> HTMLResponse:
    cell = visible_cell(session, user, grid)
    figure = _figure(figure)
    shown = _children(session, cell) or ([cell] if cell is not None else [])
    level = shown[0].level if shown else 1
    values = _figures(request, session, figure, cell, level, user)
    rows = [{"cell": c, "value": values.get(child_key(c.code, c.level), 0)} for c in shown]
    cfg = console_of(request).config
    return render(request, "map.html", cell=cell, trail=ancestors(session, user, cell), rows=rows, figure=figure,
                  figures=FIGURES, tile_url=cfg.tile_url or "", tile_attribution=cfg.tile_attribution,
                  title="网格地图")


@router.get("/map/data")
def map_data(request: Request, session: SessionDep, user: UserDep,
             grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
             figure: Annotated[str | None, Query(max_length=32)] = None) -> JSONResponse:
    """The shown grids as GeoJSON, each with the figure's value (the map draws these; no tiles needed)."""
    cell = visible_cell(session, user, grid)
    figure = _figure(figure)
    shown = _children(session, cell) or ([cell] if cell is not None else [])
    level = shown[0].level if shown else 1
    values = _figures(request, session, figure, cell, level, user)
    features = [{"type": "Feature", "geometry": c.geometry,
                 "properties": {"code": c.code, "name": c.name, "level": c.level, "manager": c.manager,
                                "value": values.get(child_key(c.code, c.level), 0),
                                "href": f"{PREFIX}/map?grid={c.code}&figure={figure}" if c.level < 3 and c is not cell
                                else f"{PREFIX}/grids/{c.code}"}}
                for c in shown if c.geometry]
    return JSONResponse({"type": "FeatureCollection", "figure": figure, "label": FIGURES[figure], "features": features})


def _figures(request: Request, session: Session, figure: str, cell: GridCell | None, level: int,
             user: ConsoleUserView) -> dict[str, int]:
    """The figure per shown grid, kept until the store changes (per role: scopes decide what counts)."""
    rng = subtree(cell.code, cell.level) if cell is not None else None
    key = ("figure", figure, cell.code if cell else None, level, user.principal.scopes)
    return console_of(request).cache.get(session, key, lambda: figure_by_child(session, figure, rng, level,
                                                                               user.principal))


def _current_to(session: Session) -> str:
    last = session.scalar(select(func.max(Run.finished_at)).where(Run.state == "success"))
    from hub.console.display import beijing_now

    return beijing_now(last).strftime("%Y-%m-%d %H:%M (+08:00)") if last else "尚无同步"


@router.get("/grids/{code}", response_class=HTMLResponse)
def grid_page(request: Request, code: Code, session: SessionDep, user: UserDep,
              tab: Annotated[str, Query(max_length=16)] = "households",
              page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
    cell = visible_cell(session, user, code)
    assert cell is not None
    if tab not in TABS:
        raise Refused(400, f"未知标签 {tab}")
    people = user.principal.has("read:people")
    if tab in ("households", "care") and not people:
        tab = "buildings"
    rng = subtree(cell.code, cell.level)
    key = user.principal
    counts = console_of(request).cache.get(session, ("summary", cell.code, key.scopes),
                                           lambda: summary(session, rng, key))
    masker = Masker(console_of(request).vault, key)
    paging = Paging.of(page)
    listing: dict[str, Any] = {}
    if tab == "households":
        listing = _households(request, session, rng, paging, masker)
    elif tab == "care":
        listing = _care(request, session, rng, paging, masker, user)
    elif tab == "buildings":
        q = select(Building).where(rng.clause(Building.grid_code)).order_by(Building.grid_code, Building.id)
        rows, more = paging.cut(list(session.scalars(q.offset(paging.offset).limit(paging.size + 1))))
        listing = {"buildings": rows, "more": more}
    else:
        listing = {"children": _children(session, cell), "more": False}
    parent = session.get(GridCell, cell.parent_code) if cell.parent_code else None
    params = {"tab": tab}
    base = f"{PREFIX}/grids/{cell.code}"
    return render(request, "grid.html", cell=cell, parent=parent, trail=ancestors(session, user, cell),
                  level_name=LEVELS.get(cell.level, str(cell.level)), counts=counts, tab=tab, tabs=TABS,
                  people=people, listing=listing, tag_names=TAG_NAMES, relations=RELATIONS,
                  manager_phone=masker.phone(cell.manager_phone_enc), current_to=_current_to(session),
                  today=beijing_today().isoformat(), ledger=_ledger(counts),
                  page=paging.page, prev_url=page_url(base, params, paging.page - 1),
                  next_url=page_url(base, params, paging.page + 1) if listing.get("more") else None,
                  title=cell.name)


def _ledger(counts: Any) -> list[tuple[str, str]]:
    """The eight categories of the grid's ledger (一格一册), with what the hub can count for each."""
    tags = counts.people_by_tag
    care = sum(tags.get(t, 0) for t in CARE_TAGS)
    return [("党群组织", "暂无数据源"), ("经济财政", f"单位 {counts.organizations} 家"),
            ("综治司法", f"未办结事件 {counts.events_open} 件（逾期 {counts.events_overdue}）"),
            ("社会事务", f"关爱对象 {care} 人次"), ("人口计生", f"常住 {counts.residents} 人，{counts.households} 户"),
            ("劳动保障", f"流动人口 {tags.get('floating', 0)} 人"),
            ("城区管理", f"房屋 {counts.buildings} 栋，消防重点单位 {counts.key_units} 家"), ("文教体育", "暂无数据源")]


def _person_row(p: Person, masker: Masker) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "gender": {"M": "男", "F": "女"}.get(p.gender or "", "未知"),
            "birth_date": p.birth_date, "relation": RELATIONS.get(p.relation_to_head or "", p.relation_to_head or ""),
            "citizen_id": masker.citizen_id(p.citizen_id_enc), "phone": masker.phone(p.phone_enc), "status": p.status}


def _households(request: Request, session: Session, rng: Any, paging: Paging, masker: Masker) -> dict[str, Any]:
    """A page of households, each head first then members, as on a household register."""
    size = 20
    q = (select(Household).where(rng.clause(Household.grid_code), Household.active.is_(True))
         .order_by(Household.household_no, Household.id).offset((paging.page - 1) * size).limit(size + 1))
    households = list(session.scalars(q))
    more, households = len(households) > size, households[:size]
    members: dict[str, list[Person]] = {}
    ids = [h.id for h in households]
    if ids:
        for p in session.scalars(select(Person).where(Person.household_id.in_(ids), Person.status == "active")):
            members.setdefault(p.household_id or "", []).append(p)
    tokens = [t for ps in members.values() for p in ps for t in (p.citizen_id_enc, p.phone_enc)]
    masker.prefetch(tokens)
    out = []
    shown: list[str] = []
    for h in households:
        people = sorted(members.get(h.id, []), key=lambda p: (p.id != h.head_person_id,
                                                              p.relation_to_head != "02", str(p.birth_date or ""), p.id))
        out.append({"household": h, "members": [_person_row(p, masker) for p in people]})
        shown += [p.id for p in people]
    audit_persons(request, shown)
    return {"households": out, "more": more}


def _care(request: Request, session: Session, rng: Any, paging: Paging, masker: Masker,
          user: ConsoleUserView) -> dict[str, Any]:
    q = (select(PersonTag.tag, Person).join(Person, Person.id == PersonTag.person_id)
         .where(rng.clause(Person.grid_code), Person.status == "active", PersonTag.tag.in_(CARE_TAGS))
         .order_by(PersonTag.tag, Person.grid_code, Person.id).offset(paging.offset).limit(paging.size + 1))
    rows, more = paging.cut(list(session.execute(q).tuples()))
    masker.prefetch(t for _, p in rows for t in (p.citizen_id_enc, p.phone_enc))
    audit_persons(request, [p.id for _, p in rows])
    return {"care": [{"tag": TAG_NAMES.get(tag, tag), **_person_row(p, masker), "grid": p.grid_code,
                      "address": p.address} for tag, p in rows], "more": more}

"""The township's work at the terminal: ``hub ledger export``, ``hub assess`` (figures, ``sample``,
``ranking``) and ``hub cards``. Same functions as the API's; a printout of personal data is audited."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.output import Column, print_table
from hub.cli.state import hub_of
from hub.errors import HubError

PERIOD = typer.Option("--period", help="a quarter (2026Q3) or a month (2026-07), Beijing dates")
AS_OF = typer.Option("--as-of", help="figures as they stood at the end of this day (default: today in Beijing)")
READER_SCOPES = "read:grids,read:people,read:events"


def register(app: typer.Typer) -> None:
    ledger = typer.Typer(help="A grid's ledger (一格一台账), printable.", no_args_is_help=True)
    ledger.command("export")(ledger_export)
    app.add_typer(ledger, name="ledger")
    assess = typer.Typer(help="督查考核: assessment figures per grid and period; `sample`, `ranking`.",
                         invoke_without_command=True)
    assess.callback()(assess_figures)
    assess.command("sample")(assess_sample)
    assess.command("ranking")(assess_ranking)
    app.add_typer(assess, name="assess")
    app.command("cards")(cards)


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HubError(f"--as-of {value!r}: expected a date YYYY-MM-DD") from None


def _reader(scopes: str, grid: str | None) -> Any:
    from hub.api.keys import Principal, parse_scopes

    return Principal(id=0, name=f"cli:{getpass.getuser()}", scopes=frozenset(parse_scopes(scopes)), grid_code=grid)


def _rules(ctx: typer.Context) -> Any:
    from hub.township.rules import TownshipRules

    return TownshipRules.from_config(hub_of(ctx).config)


def _session(ctx: typer.Context) -> Any:
    from hub.db.session import transaction

    hub = hub_of(ctx)
    hub.ensure_store()
    return transaction(hub.db_url)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def ledger_export(
    ctx: typer.Context,
    grid: Annotated[str, typer.Option("--grid", help="the grid's code")],
    out: Annotated[Path, typer.Option("--out", help="the workbook to write (.xlsx)")],
    scopes: Annotated[str, typer.Option("--scopes", help="what the reader may see (read:pii unmasks IDs and "
                                                         "phones; read:sensitive adds special population)")] = READER_SCOPES,
    as_of: Annotated[str | None, AS_OF] = None,
) -> None:
    """Write a grid's ledger: title block, a sheet per category, households, buildings, organisations, events, care lists."""
    from hub.township.audit import record_read
    from hub.township.ledger import export_ledger

    hub = hub_of(ctx)
    started = time.perf_counter()
    reader = _reader(scopes, None)
    with _session(ctx) as session:
        info = export_ledger(session, hub.vault, grid, out, reader, as_of=_day(as_of), rules=_rules(ctx))
        record_read(session, reader.name, "hub ledger export", f"{grid} -> {out}", info.person_ids, started)
    typer.echo(f"ledger of {info.grid_code} {info.grid_name} written to {out}: "
               + ", ".join(f"{k} {v}" for k, v in info.counts.items()), err=True)


def assess_figures(
    ctx: typer.Context,
    period: Annotated[str | None, PERIOD] = None,
    level: Annotated[int, typer.Option("--level", min=1, max=3, help="2 villages/communities, 3 groups")] = 2,
    as_of: Annotated[str | None, AS_OF] = None,
    within: Annotated[str | None, typer.Option("--within", help="only grids under this code")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="also write the table as a workbook")] = None,
) -> None:
    """The assessment figures (grid-work.md) of every grid of a level, each over its subtree."""
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        raise HubError("--period is required (e.g. --period 2026Q3)")
    from hub.township.assessment import assess

    with _session(ctx) as session:
        result = assess(session, period, level, _day(as_of), within=within, rules=_rules(ctx))
    if xlsx is not None:
        from hub.township.ledger.figures import write_assessment

        write_assessment(result, xlsx)
        typer.echo(f"assessment written to {xlsx}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        return
    rows = []
    for g in result.grids:
        r = g.rates
        rows.append([g.code, g.name, g.accepted, g.finished, _pct(r["closure_rate"]), _pct(r["on_time_rate"]),
                     g.overdue_open, _pct(r["passed_up_on_time_rate"]), _pct(r["satisfaction"]),
                     _pct(r["hazards_rectified_on_time_rate"]), _pct(r["inspection_coverage"])])
    print_table([Column("grid", keep=True), Column("name", keep=True), "accepted", "finished", "closure", "on time",
                 "overdue open", "passed up", "satisfaction", "hazards on time", "inspection coverage"], rows,
                title=f"{result.period} as of {result.as_of} (level {level})")


def assess_sample(
    ctx: typer.Context,
    period: Annotated[str, PERIOD],
    grid: Annotated[str, typer.Option("--grid", help="the grid whose households are drawn")],
    share: Annotated[float | None, typer.Option("--share", help="share drawn (default from hub.yaml, 0.05)")] = None,
    minimum: Annotated[int | None, typer.Option("--min", help="at least this many (default 3)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """随机抽查: the reproducible random household check of a grid for a period."""
    from hub.township.audit import record_read
    from hub.township.sample import draw

    with _session(ctx) as session:
        result = draw(session, grid, period, rules=_rules(ctx), share=share, minimum=minimum)
        record_read(session, f"cli:{getpass.getuser()}", "hub assess sample", f"{grid} {result.period}",
                    [h.head_person_id for h in result.households if h.head_person_id])
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        return
    print_table([Column("household", keep=True), Column("number", keep=True), Column("grid", keep=True), "address",
                 "head"], [[h.household_id, h.household_no, h.grid_code, h.address, h.head_name]
                           for h in result.households],
                title=f"{result.grid_name} {result.period}: {len(result.households)} of "
                      f"{result.households_in_grid} households (seed {result.seed})")


def assess_ranking(
    ctx: typer.Context,
    period: Annotated[str, PERIOD],
    as_of: Annotated[str | None, AS_OF] = None,
    within: Annotated[str | None, typer.Option("--within", help="the township's code")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """季度评比: villages ranked by the composite score; flags three quarters in a row in the bottom places."""
    from hub.township.ranking import rank

    with _session(ctx) as session:
        result = rank(session, period, _day(as_of), within=within, rules=_rules(ctx))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str))
        return
    print_table(["rank", Column("grid", keep=True), Column("name", keep=True), "score", "bottom streak", "flag"],
                [[g.rank, g.code, g.name, None if g.score is None else f"{g.score:.4f}", g.bottom_streak,
                  "连续后两名" if g.flagged else ""] for g in result.grids],
                title=f"{result.period} ranking as of {result.as_of}")


def cards(
    ctx: typer.Context,
    grid: Annotated[str, typer.Option("--grid", help="the grid's code")],
    out: Annotated[Path, typer.Option("--out", help="printable workbook of the grid card and household cards")],
    scopes: Annotated[str, typer.Option("--scopes", help="read:pii prints the grid worker's phone in full")]
    = READER_SCOPES,
) -> None:
    """网格图谱、服务联系卡: the grid's publicity card and one service contact card per household."""
    from hub.township.cards import grid_card, write_cards

    hub = hub_of(ctx)
    reader = _reader(scopes, None)
    from hub.township.audit import record_read

    with _session(ctx) as session:
        card = grid_card(session, hub.vault, grid, reader, households=True)
        record_read(session, reader.name, "hub cards", f"{grid} -> {out}", card.person_ids)
    write_cards(card, out)
    typer.echo(f"{len(card.households or [])} household cards of {card.code} {card.name} written to {out}", err=True)

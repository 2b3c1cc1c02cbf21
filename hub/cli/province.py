"""`hub province`: a province's counties, and resolve partitioned by county (what the DAG's tasks run)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hub.cli.state import hub_of
from hub.errors import HubError

province_app = typer.Typer(help="A province's counties: list them, resolve county by county.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(province_app, name="province")


@province_app.command("counties")
def counties(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each configured county: its code, name and enabled sources."""
    from hub.province.resolve import county_sources

    hub = hub_of(ctx)
    rows = [{"county": code, "name": hub.config.counties[code].name, "sources": county_sources(hub, code)}
            for code in sorted(hub.config.counties)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("no counties in this hub.yaml (one county: its sources: section)")
    for row in rows:
        typer.echo(f"{row['county']}  {row['name'] or '-'}  {', '.join(row['sources']) or 'no enabled source'}")


@province_app.command("resolve")
def resolve(ctx: typer.Context,
            county: Annotated[list[str] | None, typer.Option(help="only these counties (then no movers/finish)")] = None,
            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """prepare -> each county -> movers -> places, events, tags: the resolve DAG's steps, in this process."""
    from hub.province import resolve as by_county

    hub = hub_of(ctx)
    known = by_county.counties(hub)
    if not known:
        raise HubError("no counties in this hub.yaml: use `hub resolve`")
    unknown = [c for c in county or [] if c not in known]
    if unknown:
        raise HubError(f"unknown county {unknown[0]!r} (configured: {', '.join(known)})")
    report: dict[str, object] = {"prepare": by_county.prepare(hub)}
    for code in county or known:
        report[code] = by_county.resolve_county(hub, code)
        if not as_json:
            typer.echo(f"county {code}: " + _counts(report[code]))
    if not county:
        report["movers"] = by_county.link_movers(hub)
        report["finish"] = by_county.finish(hub)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    elif not county:
        typer.echo("movers: " + _counts(report["movers"]))  # type: ignore[arg-type]


def _counts(counts: object) -> str:
    shown = ", ".join(f"{k} {v}" for k, v in dict(counts).items() if v) if isinstance(counts, dict) else str(counts)
    return shown or "nothing to do"

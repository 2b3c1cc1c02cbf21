"""Data stewards' commands: ``hub quality report`` and ``hub quarantine list|show|replay|dismiss``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.state import hub_of

console = Console()


def register(app: typer.Typer) -> None:
    quality = typer.Typer(help="Data quality: pass rates per check and their trend.", no_args_is_help=True)
    quality.command("report")(report)
    quality.command("docs")(docs)
    app.add_typer(quality, name="quality")
    quarantine = typer.Typer(help="Rows the quality gate refused: inspect, replay, dismiss.", no_args_is_help=True)
    quarantine.command("list")(list_cmd)
    quarantine.command("show")(show)
    quarantine.command("replay")(replay_cmd)
    quarantine.command("dismiss")(dismiss)
    app.add_typer(quarantine, name="quarantine")


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def report(ctx: typer.Context, source: Annotated[str | None, typer.Argument(help="one source")] = None,
           runs: Annotated[int, typer.Option(help="how many recent runs the trend covers")] = 10,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per source and stream: pass rate of each check in the latest run, and the trend over recent runs."""
    from hub.quality.steward import quality_report

    hub = hub_of(ctx)
    hub.ensure_store()
    if source:
        hub.config.source(source)  # an unknown source is one clear line
    rows = quality_report(hub, source, runs)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("no successful runs yet")
        return
    for r in rows:
        table = Table("check", "passed", "failed", "pass rate", f"trend (last {len(r['runs'])} runs)",
                      title=f"{r['source']} / {r['stream']}: read {r['read']}, quarantined {r['quarantined']}, "
                            f"warnings {r['warnings']}")
        for c in r["checks"]:
            table.add_row(c["check"], str(c["passed"]), str(c["failed"]), _pct(c["pass_rate"]),
                          " ".join(_pct(t) for t in c["trend"]))
        console.print(table)
        if r["open_quarantine"]:
            console.print("open quarantine: " + ", ".join(f"{k} {v}" for k, v in sorted(r["open_quarantine"].items())))


def docs(ctx: typer.Context) -> None:
    """Where the GX Data Docs of the runs are (built by every validate)."""
    from hub.quality.docs import site_index

    path = site_index(hub_of(ctx))
    typer.echo(str(path) if path.exists() else f"no data docs yet (they appear at {path} after a sync)")


def list_cmd(ctx: typer.Context, source: Annotated[str | None, typer.Option(help="one source")] = None,
             stream: Annotated[str | None, typer.Option(help="one stream")] = None,
             status: Annotated[str | None, typer.Option(help="open | resolved | replayed | dismissed")] = None,
             scope: Annotated[str | None, typer.Option(help="record (row refused) | field (row loaded, field withheld)")] = None,
             limit: Annotated[int | None, typer.Option(help="at most this many")] = None,
             as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Quarantined rows and withheld fields with their machine-readable reasons (raw values stay encrypted)."""
    from hub.quality.steward import list_quarantine

    hub = hub_of(ctx)
    hub.ensure_store()
    rows = list_quarantine(hub, source, stream, status, limit, scope)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table("id", "run", "source", "stream", "source key", "scope", "column", "status", "reasons")
    for r in rows:
        reasons = "; ".join(f"{x['check']}({x.get('column') or '-'})" for x in r["reasons"] or [])
        table.add_row(str(r["id"]), r["run_id"], r["source"], r["stream"], r["source_key"] or "-", r["scope"],
                      r["column"] or "-", r["status"], reasons)
    console.print(table)


def show(ctx: typer.Context, row_id: Annotated[int, typer.Argument(metavar="ID")],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One quarantined row, raw values decrypted for the steward (printed, never logged)."""
    from hub.api.audit import record_read
    from hub.db.session import session_factory
    from hub.quality.steward import show_quarantine

    hub = hub_of(ctx)
    hub.ensure_store()
    entry = show_quarantine(hub, row_id)
    record_read(session_factory(hub.db_url), action="quarantine show",
                target=f"quarantined row {row_id} ({entry['source']}/{entry['stream']})", person_count=1)
    if as_json:
        typer.echo(json.dumps(entry, ensure_ascii=False, indent=1))
        return
    typer.echo(f"#{entry['id']} {entry['source']}/{entry['stream']} key {entry['source_key']} "
               f"run {entry['run_id']} [{entry['status']}]")
    if entry["scope"] == "field":
        typer.echo(f"field {entry['column']} ({entry.get('raw_column')}) withheld; the record is loaded without it; "
                   f"raw value {entry.get('value')!r}")
    for r in entry["reasons"] or []:
        typer.echo(f"  {r.get('severity', 'error')}: {r['check']} on {r.get('column') or '-'}"
                   f" ({r.get('detail') or ''}) value {r.get('value')!r}")
    typer.echo("raw values:")
    for k, v in (entry["raw"] or {}).items():
        typer.echo(f"  {k}: {v!r}")
    if entry.get("note"):
        typer.echo(f"note: {entry['note']}")


def replay_cmd(ctx: typer.Context, ids: Annotated[list[int] | None, typer.Argument(metavar="[ID...]")] = None,
               source: Annotated[str | None, typer.Option(help="replay every open row of this source")] = None) -> None:
    """Re-validate quarantined rows against today's contract; load those that pass, in a new run."""
    from hub.stages.replay import replay

    hub = hub_of(ctx)
    info = replay(hub, ids or None, source)
    for src, run in info.runs.items():
        for stream, c in run.streams.items():
            typer.echo(f"{src}/{stream}: run {run.run_id}: replayed {c['read']}, loaded {c['loaded']}, "
                       f"unchanged {c['unchanged']}, still quarantined {c['quarantined']}, "
                       f"loaded with a field still withheld {c.get('withheld', 0)}")
    if not info.runs:
        typer.echo("nothing to replay")


def dismiss(ctx: typer.Context, row_id: Annotated[int, typer.Argument(metavar="ID")],
            note: Annotated[str, typer.Option("--note", help="why the row is dismissed")]) -> None:
    """Close a quarantined row without loading it (with a note saying why)."""
    from hub.quality.steward import dismiss_quarantine

    hub = hub_of(ctx)
    hub.ensure_store()
    entry = dismiss_quarantine(hub, row_id, note)
    typer.echo(f"dismissed #{entry['id']} ({entry['source']}/{entry['stream']} {entry['source_key']})")

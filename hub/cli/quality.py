"""Data stewards' commands: ``hub quality report`` and ``hub quarantine list|show|replay|dismiss|undo``."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.console import Console

from hub.cli.output import Column, print_table
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
    quarantine.command("undo")(undo)
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
    print_table([Column("source", keep=True), Column("stream", keep=True), Column("rows", justify="right"),
                 Column("pass rate", justify="right"), Column("quarantined", justify="right"),
                 Column("warnings", justify="right")],
                [(r["source"], r["stream"], r["read"], _pct((r["read"] - r["quarantined"]) / r["read"]) if r["read"]
                  else "-", r["quarantined"], r["warnings"]) for r in rows],
                title="overview (latest run of each stream)")
    for r in rows:
        said = r.get("warning_messages") or []
        for message in said:
            typer.echo(f"warning in {r['source']}/{r['stream']}: {message}")
        if r["warnings"] > len(said):
            typer.echo(f"warning in {r['source']}/{r['stream']}: {r['warnings'] - len(said)} not recorded "
                       "(a run from before warnings were kept)")
    for r in rows:
        typer.echo("")
        print_table([Column("check", keep=True), Column("passed", justify="right"), Column("failed", justify="right"),
                     Column("pass rate", justify="right"), f"trend (last {len(r['runs'])} runs)"],
                    [(c["check"], c["passed"], c["failed"], _pct(c["pass_rate"]), " ".join(_pct(t) for t in c["trend"]))
                     for c in r["checks"]],
                    title=f"{r['source']} / {r['stream']}: read {r['read']}, quarantined {r['quarantined']}, "
                          f"warnings {r['warnings']}")
        if r["open_quarantine"]:
            typer.echo("open quarantine: " + ", ".join(f"{k} {v}" for k, v in sorted(r["open_quarantine"].items())))


def docs(ctx: typer.Context,
         build: Annotated[bool, typer.Option("--build", help="build the pages the syncs deferred (as the quality DAG "
                                                              "does): their rows re-checked in GX")] = False) -> None:
    """Where the GX Data Docs of the runs are; a day's small runs get their page from `--build`."""
    from hub.quality.deferred import awaited_runs, build_awaited_docs
    from hub.quality.docs import site_index

    hub = hub_of(ctx)
    if build:
        hub.ensure_store()
        for run in build_awaited_docs(hub):  # a disagreement with the sync raises: one line, exit 1
            rows = sum(s.rows for s in run.streams)
            typer.echo(f"{run.source} {run.run_id}: {rows} rows re-checked in GX, quarantine as synced, "
                       f"page {'built' if run.data_docs else 'not needed (no live rows)'}")
    path = site_index(hub)
    typer.echo(str(path) if path.exists() else f"no data docs yet (they appear at {path} after a sync)")
    awaited = sum(1 for _ in awaited_runs(hub))
    if awaited:
        typer.echo(f"runs awaiting their Data Docs page: {awaited} (`hub quality docs --build`, or the "
                   "gridhub_quality DAG)")


def list_cmd(ctx: typer.Context, source: Annotated[str | None, typer.Option(help="one source")] = None,
             stream: Annotated[str | None, typer.Option(help="one stream")] = None,
             status: Annotated[str | None, typer.Option(help="open | resolved | replayed | dismissed")] = None,
             scope: Annotated[str | None, typer.Option(help="record (row refused) | field (row loaded, field withheld)")] = None,
             reason: Annotated[str | None, typer.Option(help="one reason code, e.g. id_checksum")] = None,
             run: Annotated[str | None, typer.Option(help="rows first quarantined by this run")] = None,
             limit: Annotated[int | None, typer.Option(help="at most this many")] = None,
             as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Quarantined rows and withheld fields with their machine-readable reasons (raw values stay encrypted)."""
    from hub.quality.steward import list_quarantine

    hub = hub_of(ctx)
    hub.ensure_store()
    rows = list_quarantine(hub, source, stream, status, limit, scope, reason, run)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = []
    for r in rows:
        reasons = "; ".join(f"{x['check']}({x.get('column') or '-'})" for x in r["reasons"] or [])
        table.append((r["id"], r["run_id"], r["source"], r["stream"], r["source_key"], r["scope"], r["column"],
                      r["status"], reasons))
    print_table([Column("id", keep=True), Column("run", keep=True), "source", "stream",
                 Column("source key", keep=True), "scope", "column", "status", Column("reasons", keep=True)], table)


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
                       f"loaded with a field still withheld {run.withheld.get(stream, 0)}")
    if not info.runs:
        typer.echo("nothing to replay")


def dismiss(ctx: typer.Context, row_id: Annotated[int, typer.Argument(metavar="ID")],
            note: Annotated[str, typer.Option("--note", help="why the row is dismissed")]) -> None:
    """Close a quarantined row without loading it (with a note saying why); logged, and undoable."""
    from hub.quality.steward import dismiss_rows

    hub = hub_of(ctx)
    hub.ensure_store()
    (action,) = dismiss_rows(hub, [row_id], note, f"cli:{getpass.getuser()}")
    typer.echo(f"dismissed #{row_id} (action {action}; `hub quarantine undo {action}` opens it again)")


def undo(ctx: typer.Context, action_id: Annotated[int, typer.Argument(metavar="ACTION")]) -> None:
    """Open a dismissed row again: the action id is the one `dismiss` (or the console) printed."""
    from hub.quality.steward import undo_dismissal

    hub = hub_of(ctx)
    hub.ensure_store()
    done = undo_dismissal(hub, action_id, f"cli:{getpass.getuser()}")
    typer.echo(f"row #{done['row']} is {done['status']} again (action {action_id} undone)")

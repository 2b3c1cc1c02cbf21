"""``hub demo``: what ``make demo`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.cli.output import Column, print_table

console = Console()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    folder: Annotated[Path, typer.Option("--dir", help="where the demo county lives")] = Path("demo"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the read API after the summary")] = True,
    residents: Annotated[int, typer.Option(help="residents of the synthetic township (first run only)")] = 20000,
    port: Annotated[int, typer.Option(help="port of the read API")] = 8000,
) -> None:
    """Synthesise a township, run every DAG on real Airflow, print a summary, serve the read API."""
    from hub.orchestration.demo import demo_key, ensure_folder, run_demo

    ensure_folder(folder)
    summary = run_demo(folder, residents=residents)
    print_summary(summary)
    if not summary.ok:
        failed = [d for d, r in summary.dags.items() if r["state"] != "success"]
        console.print(f"[red]failed DAGs: {', '.join(failed)}[/red] (see `hub --config {folder}/hub.yaml runs`)")
        raise typer.Exit(1)
    if not serve:
        return
    import uvicorn

    from hub.api.main import create_app
    from hub.context import HubContext

    config = summary.folder / "hub.yaml"
    key = demo_key(config)
    console.print(f"\nread API on [bold]http://127.0.0.1:{port}[/bold] (docs at /docs); demo key (shown once):")
    console.print(f"  [bold]{key}[/bold]")
    console.print(f"  curl -H 'Authorization: Bearer {key}' http://127.0.0.1:{port}/grids\n")
    ctx = HubContext.from_config(config)
    from hub.console.demo import demo_logins

    console.print(f"console on [bold]http://127.0.0.1:{port}/console/[/bold]; demo logins (new passwords each run):")
    for login in demo_logins(ctx):
        where = f" ({login.grid_name} {login.grid})" if login.grid else ""
        console.print(f"  {login.role}{where}: [bold]{login.username}[/bold] / [bold]{login.password}[/bold]")
    console.print()
    uvicorn.run(create_app(ctx), host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)


def print_summary(summary) -> None:  # type: ignore[no-untyped-def]
    console.print(f"\n[bold]gridhub demo[/bold] in {summary.folder} "
                  f"({'fresh county' if summary.fresh else 'incremental re-run'})")
    print_table([Column("DAG", keep=True), "state", Column("tasks", keep=True), Column("seconds", justify="right")],
                [(dag_id, r["state"], ", ".join(f"{t}={s}" for t, s in r["tasks"].items()), f"{r['seconds']:.1f}")
                 for dag_id, r in summary.dags.items()])
    print_table([Column("source", keep=True), "read (all runs)", "loaded", "quarantined", "this run: read", "state"],
                [(name, s["read"], s["loaded"], s["quarantined"], s["last_run_read"], s["last_run_state"])
                 for name, s in summary.sources.items()])
    console.print("entities: " + ", ".join(f"{k} {v}" for k, v in summary.entities.items()))
    console.print(f"links {summary.links}; review queue {summary.review_pending} pending; "
                  f"quarantine {summary.quarantine_open} open; overdue events {summary.overdue_events}")
    console.print(f"Data Docs: {summary.data_docs or 'not built'}")

"""The steward's commands: ``hub review list|show|accept|reject`` and ``hub links export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.state import hub_of

review_app = typer.Typer(help="The match-review queue: uncertain person pairs for a steward.", no_args_is_help=True)
links_app = typer.Typer(help="The crosswalk between source records and entities.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.add_typer(links_app, name="links")


@review_app.command("list")
def review_list(ctx: typer.Context, status: Annotated[str, typer.Option(help="pending|accepted|rejected|deferred|all")] = "pending",
                as_json: JsonOpt = False) -> None:
    """Pairs waiting for (or given) a steward's decision, most likely matches first."""
    from hub.resolve.review import list_reviews

    rows = list_reviews(hub_of(ctx), None if status == "all" else status)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo(f"no {status} reviews")
    for r in rows:
        typer.echo(f"{r['id']:>6}  {r['score']:.3f}  {r['status']:<8}  {r['left_key']}  <->  {r['right_key']}")


@review_app.command("show")
def review_show(ctx: typer.Context, review_id: int, as_json: JsonOpt = False) -> None:
    """Both records of a pair side by side (IDs and phones only as present/absent)."""
    from hub.resolve.review import show

    item = show(hub_of(ctx), review_id)
    if as_json:
        typer.echo(json.dumps(item, ensure_ascii=False, indent=1))
        return
    typer.echo(f"review {item['id']} ({item['entity_type']}), score {item['score']:.3f}, {item['status']}")
    for side in ("left", "right"):
        rec = item[side]
        fields = ", ".join(f"{k}={v}" for k, v in rec["fields"].items())
        typer.echo(f"  {side:<5} {rec['ref']}: {fields}")


def _decide(ctx: typer.Context, review_id: int, decision: str, by: str, resolve_now: bool, as_json: bool,
            reason: str | None = None) -> None:
    from hub.resolve.entities import resolve_entities
    from hub.resolve.review import decide

    hub = hub_of(ctx)
    row = decide(hub, review_id, decision, by, reason)
    counts = resolve_entities(hub) if resolve_now else {}
    if as_json:
        typer.echo(json.dumps({"review": row, "resolve": counts}, ensure_ascii=False))
    else:
        typer.echo(f"review {review_id}: {row['status']}" + (" (applied)" if resolve_now else " (applies at next resolve)"))


By = Annotated[str, typer.Option(help="who decided")]
NoResolve = Annotated[bool, typer.Option("--no-resolve", help="record only")]
Reason = Annotated[str | None, typer.Option("--reason", help="why (kept with the decision)")]


@review_app.command("accept")
def review_accept(ctx: typer.Context, review_id: int, by: By = "steward", no_resolve: NoResolve = False,
                  reason: Reason = None, as_json: JsonOpt = False) -> None:
    """The two records are one entity, whatever the model says later."""
    _decide(ctx, review_id, "accept", by, not no_resolve, as_json, reason)


@review_app.command("reject")
def review_reject(ctx: typer.Context, review_id: int, by: By = "steward", no_resolve: NoResolve = False,
                  reason: Reason = None, as_json: JsonOpt = False) -> None:
    """The two records are different entities, whatever the model says later."""
    _decide(ctx, review_id, "reject", by, not no_resolve, as_json, reason)


@review_app.command("defer")
def review_defer(ctx: typer.Context, review_id: int, by: By = "steward", reason: Reason = None,
                 as_json: JsonOpt = False) -> None:
    """Put a pair aside (out of the pending list); the model keeps deciding it meanwhile."""
    _decide(ctx, review_id, "defer", by, False, as_json, reason)


@review_app.command("undo")
def review_undo(ctx: typer.Context, review_id: int, by: By = "steward", no_resolve: NoResolve = False,
                as_json: JsonOpt = False) -> None:
    """Take back the pair's latest decision (it returns to its state before)."""
    from hub.resolve.entities import resolve_entities
    from hub.resolve.review import undo

    hub = hub_of(ctx)
    row = undo(hub, review_id, by)
    counts = resolve_entities(hub) if not no_resolve else {}
    if as_json:
        typer.echo(json.dumps({"review": row, "resolve": counts}, ensure_ascii=False))
    else:
        typer.echo(f"review {review_id}: back to {row['status']}")


@links_app.command("export")
def links_export(ctx: typer.Context, out: Annotated[Path, typer.Option("--out", help="CSV file to write")]) -> None:
    """Write the crosswalk CSV: source,stream,source_key,entity_type,entity_id."""
    from hub.resolve.crosswalk import export_links

    n = export_links(hub_of(ctx), out)
    typer.echo(f"wrote {n} links to {out}")
    typer.echo(f"{out} holds personal data in clear (citizen IDs as source keys): it is readable only by you "
               "(0600); this export is recorded in `hub audit`. Delete it when done.", err=True)

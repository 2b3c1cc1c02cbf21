"""`hub synth`: write a synthetic county, and `hub synth serve` its public-security API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Generate a synthetic county (five department systems plus ground truth) and serve its API.")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.callback(invoke_without_command=True)
def synth(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write the county into.")] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 7,
    residents: Annotated[int, typer.Option(help="Registered residents (before births/moves).")] = 20000,
    townships: Annotated[int, typer.Option(help="Townships (13 villages/communities, 115 groups each).")] = 1,
    days: Annotated[int, typer.Option(help="Days of changes after the initial full state (day 0).")] = 3,
    noise: Annotated[str, typer.Option(help="Noise profile: default, none or heavy.")] = "default",
    population_url: Annotated[str | None, typer.Option(
        "--population-url", help="SQLAlchemy URL for the population tables instead of population.db.")] = None,
    counties: Annotated[int | None, typer.Option(
        help="A province: this many counties (each --residents), in DIR/<code>/, one hub.yaml for all.")] = None,
    movers: Annotated[int, typer.Option(
        help="With --counties: residents of each county also recorded in the next (same citizen ID).")] = 0,
) -> None:
    """Write grids, population, civil-affairs, fire-safety, public-security, dispute-mediation, truth/ and hub.yaml."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise _fail("--out DIR is required (where to write the county)")
    from hub.synth import generate

    if counties is not None:
        _province(out, counties, seed=seed, residents=residents, townships=townships, days=days, noise=noise,
                  movers=movers, population_url=population_url)
        return
    try:
        summary = generate(out, seed=seed, residents=residents, townships=townships, days=days, noise=noise,
                           population_url=population_url)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    except Exception as exc:  # a database URL that does not connect, a driver missing, ...
        if population_url and type(exc).__module__.startswith(("sqlalchemy", "pymysql", "psycopg")):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _fail(f"population database {population_url}: {first}") from None
        raise
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
    typer.echo(next_steps(out), err=True)


def _province(out: Path, counties: int, *, population_url: str | None, **options) -> None:  # type: ignore[no-untyped-def]
    from hub.synth.province import generate_province

    if population_url:
        raise _fail("--population-url is for one county; a province writes each county's population.db")
    try:
        summary = generate_province(out, counties=counties, **options)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
    config = out.resolve() / "hub.yaml"
    typer.echo(f"\nwrote {counties} synthetic counties ({summary.movers} movers between them) to {out.resolve()};\n"
               f"its hub.yaml lists them under counties: (public-security disabled: each needs `hub synth serve`).\n"
               f"then: hub --config {config} sync --all", err=True)


def next_steps(out: Path) -> str:
    """What to do with the county just written (on stderr: stdout stays one JSON line for scripts)."""
    config = out.resolve() / "hub.yaml"
    return (f"\nwrote a synthetic county to {out.resolve()}; its hub.yaml already points at every source there.\n"
            f"1. use it: pass `--config {config}` to every hub command (or set HUB_CONFIG={config}),\n"
            f"   or copy its sources: section into your own hub.yaml\n"
            f"2. start its simulated public-security API (the URL its hub.yaml names) in another terminal:\n"
            f"   hub synth serve --data {out.resolve()} --token demo-token --port 8765\n"
            f"3. then: export PUBLIC_SECURITY_TOKEN=demo-token; hub --config {config} sync --all")


@app.command()
def serve(
    data: Annotated[Path, typer.Option("--data", help="The county folder or its public-security/ folder.")],
    token: Annotated[str, typer.Option("--token", help="Bearer token clients must send.")],
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    day: Annotated[int | None, typer.Option(help="Serve days 0..DAY only (default: all days).")] = None,
    rate: Annotated[float, typer.Option(help="Requests per second before 429 (0: unlimited).")] = 20.0,
    fail_rate: Annotated[float, typer.Option(help="Share of requests answered 503.")] = 0.02,
    seed: Annotated[int, typer.Option(help="Seed for which requests fail.")] = 0,
) -> None:
    """Serve the public-security API (legacy-systems.md §4) until interrupted."""
    from hub.synth.server import make_server

    if not 0 <= fail_rate < 1:
        raise _fail(f"--fail-rate must be in [0, 1), got {fail_rate}")
    try:
        httpd = make_server(data, host, port, token, day=day, rate_limit_per_s=rate, fail_rate=fail_rate, seed=seed)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    h, p = httpd.server_address[:2]
    typer.echo(f"serving public-security on http://{h}:{p} (day {httpd.day}); Ctrl-C to stop", err=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def register(parent: typer.Typer) -> None:
    """Mount as `hub synth` (hub.cli calls this for each command module)."""
    parent.add_typer(app, name="synth")

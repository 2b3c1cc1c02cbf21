"""Console page-time benchmark: every page kind, p50/p95 over repeated requests, on a real county.

Builds (or reuses) a synthetic county run through the real pipeline (generate → sync every source →
resolve), serves it with `hub serve` (one uvicorn worker, its own process), logs in as a steward, a
township grid office and a village grid office, and times each page as the user waits for it: the
full HTTP round trip over loopback, server-side rendering and transfer included (the browser's own
layout is not). Results go to bench/results/console.md (or --results).

    .venv/bin/python bench/bench_console.py                         # default township, ~20,000 residents
    .venv/bin/python bench/bench_console.py --residents 500000 --townships 25
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
HUB = ROOT / ".venv" / "bin" / "hub"
SECRET = "bench-console-secret"
TOKEN = "bench-console-token"
PASSWORD = "bench-pass-1"
READY = ".console-bench-ready"


def sh(*args: str, env: dict | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout


def build(out: Path, residents: int, townships: int, env: dict) -> dict[str, float]:
    """The county through the real pipeline, once; later runs reuse it."""
    if (out / READY).exists():
        return {}
    code = f"""
import os, re, sys, time
from pathlib import Path
from hub.context import HubContext
from hub.resolve import resolve
from hub.stages.sync import sync
from hub.synth import generate
from hub.synth.server import start_in_thread
out = Path({str(out)!r})
t = time.time()
generate(out, seed=7, residents={residents}, days=1, townships={townships})
gen = time.time() - t
url, stop = start_in_thread(out, {TOKEN!r}, rate_limit_per_s=1e6, fail_rate=0.0)
cfg = out / "hub.yaml"
cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{{url}}"', cfg.read_text(encoding="utf-8")), encoding="utf-8")
os.environ["PUBLIC_SECURITY_TOKEN"] = {TOKEN!r}
ctx = HubContext.from_config(cfg)
ctx.ensure_store()
installed = set(ctx.host.connectors())
t = time.time()
for name, s in ctx.config.sources.items():
    if s.connector in installed:
        sync(ctx, name, resolve=False)
sync_s = time.time() - t
t = time.time()
resolve(ctx)
print(gen, sync_s, time.time() - t)
stop()
"""
    gen, sync_s, resolve_s = map(float, sh(str(PY), "-c", code, env=env).split()[-3:])
    cfg = str(out / "hub.yaml")
    codes = sh(str(HUB), "-c", cfg, "grids", "--json", env=env)
    import json

    grids = json.loads(codes)
    township = next(g["code"] for g in grids if g["level"] == 1)
    village = next(g["code"] for g in grids if g["level"] == 2 and g.get("parent_code", g.get("parent")) == township)
    user_env = {**env, "HUB_CONSOLE_PASSWORD": PASSWORD}
    for name, role, grid in (("steward", "steward", None), ("township", "grid", township), ("village", "grid", village)):
        sh(str(HUB), "-c", cfg, "users", "create", name, "--role", role, *(["--grid", grid] if grid else []),
           "--password-env", env=user_env)
    (out / READY).write_text(f"{township} {village}\n", encoding="utf-8")
    return {"generate": gen, "sync": sync_s, "resolve": resolve_s}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(base: str, user: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    page = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/console/login", data={"username": user, "password": PASSWORD, "csrf": token})
    assert r.status_code == 303, r.text
    return client


def pages(township: str, village: str, review: str | None, row: str | None, group: str) -> list[tuple[str, str, str]]:
    """(page kind, user, path): every page kind, first page and a deeper one where a list pages."""
    out = [("overview", "steward", "/console/overview"),
           ("quality", "steward", "/console/quality"),
           ("quarantine list", "steward", "/console/quarantine"),
           ("quarantine list, all, page 3", "steward", "/console/quarantine?status=all&page=3"),
           ("review list", "steward", "/console/review?status=all"),
           ("county map", "steward", "/console/map"),
           ("county map data", "steward", "/console/map/data?figure=events_open"),
           ("township map (elderly alone)", "township", "/console/map?figure=elderly_alone"),
           ("township map data", "township", f"/console/map/data?grid={township}&figure=care"),
           ("village map", "village", "/console/map"),
           ("township grid page (households)", "township", f"/console/grids/{township}"),
           ("township grid page, households page 10", "township", f"/console/grids/{township}?tab=households&page=10"),
           ("village grid page (households)", "village", f"/console/grids/{village}"),
           ("village care list", "village", f"/console/grids/{village}?tab=care"),
           ("group grid page (buildings)", "village", f"/console/grids/{group}?tab=buildings"),
           ("county event board", "steward", "/console/events"),
           ("township event board, overdue", "township", "/console/events?overdue=yes"),
           ("village event board", "village", "/console/events"),
           ("assessment (township)", "township", "/console/assessment"),
           ("assessment (county)", "steward", "/console/assessment")]
    if row:
        out.insert(4, ("quarantine row (decrypted)", "steward", f"/console/quarantine/{row}"))
    if review:
        out.insert(6, ("review pair", "steward", f"/console/review/{review}"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=20_000)
    ap.add_argument("--townships", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "console.md")
    args = ap.parse_args()
    out = args.out or Path(f"/tmp/bench-console-{args.residents}x{args.townships}")
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HUB_SECRET_KEY": SECRET, "PUBLIC_SECURITY_TOKEN": TOKEN}
    built = build(out, args.residents, args.townships, env)
    township, village = (out / READY).read_text(encoding="utf-8").split()
    cfg = str(out / "hub.yaml")
    import sqlite3

    db = sqlite3.connect(out / "var" / "hub.db")
    review = db.execute("select min(id) from match_review").fetchone()[0]
    row = db.execute("select min(id) from quarantine").fetchone()[0]
    group = db.execute("select min(code) from grid_cell where parent_code = ?", (village,)).fetchone()[0]
    counts = {t: db.execute(f"select count(*) from {t}").fetchone()[0]
              for t in ("person", "household", "event", "quarantine", "match_review", "grid_cell")}
    db.close()
    port = free_port()
    server = subprocess.Popen([str(HUB), "-c", cfg, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("hub serve did not start") from None
                time.sleep(0.5)
        clients = {u: login(base, u) for u in ("steward", "township", "village")}
        rows = []
        for kind, user, path in pages(township, village, str(review) if review else None,
                                      str(row) if row else None, group):
            client = clients[user]
            t = time.perf_counter()
            first = client.get(path)
            cold = (time.perf_counter() - t) * 1000
            assert first.status_code == 200, (path, first.status_code)
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
            rows.append((kind, user, path, cold, statistics.median(times), p95, times[-1], len(first.content)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    write(args, built, counts, rows)


def write(args, built: dict, counts: dict, rows: list) -> None:  # type: ignore[no-untyped-def]
    worst = max(r[5] for r in rows)
    worst_cold = max(r[3] for r in rows)
    lines = ["# Console page times", "",
             f"Command: `.venv/bin/python bench/bench_console.py --residents {args.residents} --townships {args.townships}`  ",
             f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average before: "
             f"{os.getloadavg()[0]:.1f}.  ",
             f"Machine: {os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}, SQLite store, "
             "`hub serve` (one uvicorn worker) in its own process, client on the same machine.  ",
             f"County: {args.residents:,} residents in {args.townships} township(s) through the real pipeline "
             f"(store: {counts['person']:,} persons, {counts['household']:,} households, {counts['event']:,} events, "
             f"{counts['quarantine']:,} quarantined rows, {counts['match_review']:,} review pairs, "
             f"{counts['grid_cell']:,} grids)."
             + (f" Built in: generate {built['generate']:.0f} s, sync {built['sync']:.0f} s, resolve "
                f"{built['resolve']:.0f} s." if built else " (county reused from an earlier run)"), "",
             f"Each page: a first request (timed: **first**), then {args.repeat} sequential requests timed as the "
             "user waits (HTTP round trip over loopback: authentication, queries, template rendering, transfer). "
             "Grid counts, map shading and the ranking are kept until the store changes (hub/console/cache.py: a "
             "sync, resolve or the events DAG starts a new generation), so **first** is what the first user after "
             "a resolve waits for and p50/p95 what everyone after them waits for.", "",
             f"Target: ≤ 150 ms p95 per page on a 500,000-resident store. Slowest p95 here: **{worst:.1f} ms**; "
             f"slowest first request: **{worst_cold:.1f} ms**.", "",
             "| page | user | path | first ms | p50 ms | p95 ms | max ms | bytes |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for kind, user, path, cold, p50, p95, mx, size in rows:
        lines.append(f"| {kind} | {user} | `{path}` | {cold:.1f} | {p50:.1f} | {p95:.1f} | {mx:.1f} | {size:,} |")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())

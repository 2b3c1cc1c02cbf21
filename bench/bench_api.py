"""Read API benchmark: our API vs datasette on the same SQLite file, driven by wrk over loopback.

Builds the default township (~20,000 residents) as a specimen store (hub.api.specimen: the synthetic
world written straight into the unified tables, since resolve is not on main yet), serves it with
``hub serve``-equivalent uvicorn (one worker) and datasette (bench/.venv-datasette) in their own
processes, and drives both with wrk from a third process.

    .venv/bin/python bench/bench_api.py            # writes bench/results/api.md
    .venv/bin/python bench/bench_api.py --residents 100000 --reuse --runs "api person c32,api page c4"

``--reuse`` keeps the store of an earlier run of the same size (A/B runs of the server on the same data);
each API run also reports the server's CPU per request (utime+stime over the wrk run, /proc), the figure
to compare on a shared machine where requests/s and latencies move with other people's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
DATASETTE = ROOT / "bench" / ".venv-datasette" / "bin" / "datasette"
WORK = ROOT / "bench" / "work"
SECRET = "bench-secret-key"
LOAD_BEFORE = "?"
#: run name -> (what is requested, concurrent connections)
RUNS = {"api person c4": ("person", 4), "api page c4": ("page", 4), "api person c32": ("person", 32),
        "api page c32": ("page", 32), "datasette person c4": ("person", 4), "datasette person c32": ("person", 32)}
LUA = """
counter = 0
paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(db: Path, residents: int) -> tuple[dict, str]:
    """The store and a key with every scope but read:pii (the common downstream case)."""
    code = f"""
import json, sys
from hub.api.keys import SCOPES, create_key
from hub.api.specimen import build_specimen
from hub.db.migrate import upgrade
from hub.db.session import transaction
from hub.privacy import Vault
url = "sqlite:///{db}"
upgrade(url)
spec = build_specimen(url, Vault("{SECRET}"), residents={residents})
with transaction(url) as s:
    key = create_key(s, "bench", [x for x in SCOPES if x != "read:pii"])
villages = sorted({{g[:12] for g in spec.persons_by_grid}})
print(json.dumps({{"key": key, "persons": spec.person_ids, "grids": spec.grids,
                  "village_counts": {{v: sum(len(p) for g, p in spec.persons_by_grid.items() if g.startswith(v))
                                     for v in villages}}}}))
"""
    out = subprocess.run(["nice", "-n", "10", str(PY), "-c", code], check=True, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "HUB_SECRET_KEY": SECRET})
    info = json.loads(out.stdout.strip().splitlines()[-1])
    return info, info["key"]


def start(cmd: list[str], port: int, probe: str, headers: dict[str, str] | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log = open(WORK / f"{Path(cmd[0]).name}-{port}.log", "wb")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", headers=headers, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited: see {log.name}")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{' '.join(cmd)} did not answer {probe}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, paths: list[str], conns: int, seconds: int, headers: dict[str, str], pid: int | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(paths) + "\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA % fh.name)
    cmd = ["wrk", "-t", "1", "-c", str(conns), "-d", f"{seconds}s", "--latency", "-s", lua.name]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    cpu0 = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    cpu = cpu_seconds(pid) - cpu0 if pid else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {p: _ms(m) for p, m in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "non2xx": int(errors.group(1)) if errors else 0,
            "cpu_ms": None if cpu is None or not done else cpu / done * 1000, "load": os.getloadavg()[0], "raw": out}


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))  # type: ignore[union-attr]
    return value / 1000 if text.endswith("us") else value * 1000 if text.endswith("s") and not text.endswith("ms") else value


def main() -> None:
    global WORK
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--residents", type=int, default=20000)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api.md")
    ap.add_argument("--reuse", action="store_true", help="keep the store an earlier run built for this size")
    ap.add_argument("--runs", default=",".join(RUNS), help="which runs, comma-separated (default: all)")
    ap.add_argument("--page-every", type=int, default=1,
                    help="the page run's pages: the first 41 of the village (1), or every Nth page of a walk through it")
    ap.add_argument("--work", type=Path, default=WORK, help="where the store, its key and the server logs go")
    ap.add_argument("--server-tree", type=Path, default=None,
                    help="serve the code of another tree's hub/ (PYTHONPATH), e.g. `git archive <rev> hub | tar -x -C DIR`: "
                         "interleaved before/after runs on the same store")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("error: wrk not found (apt-get install -y wrk)")
    WORK = args.work
    WORK.mkdir(parents=True, exist_ok=True)
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if unknown := sorted(set(runs) - set(RUNS)):
        sys.exit(f"error: unknown run(s) {', '.join(unknown)}; known: {', '.join(RUNS)}")
    if any(r.startswith("datasette ") for r in runs) and not DATASETTE.exists():
        sys.exit(f"error: {DATASETTE} missing: uv venv bench/.venv-datasette && uv pip install datasette==0.65.5")
    db = WORK / f"api-bench-{args.residents}.db"
    saved = Path(f"{db}.json")
    global LOAD_BEFORE
    LOAD_BEFORE = "/".join(f"{x:.1f}" for x in os.getloadavg())
    t0 = time.perf_counter()
    if args.reuse and saved.exists() and db.exists():
        info = json.loads(saved.read_text(encoding="utf-8"))
        key = info["key"]
    else:
        for suffix in ("", "-wal", "-shm", ".json"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        info, key = build(db, args.residents)
        fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds an API key
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
    build_s = time.perf_counter() - t0
    rng = random.Random(7)
    person_paths = [f"/persons/{p}" for p in rng.sample(info["persons"], 2000)]
    villages = info["village_counts"]
    village = max(villages, key=villages.get)
    page_paths = [f"/persons?grid={village}&limit=50"]
    # deeper pages too: follow the cursor through the whole village once
    auth = {"Authorization": f"Bearer {key}"}

    port = free_port()
    cfg = WORK / "hub.yaml"
    cfg.write_text(f"database: sqlite:///{db}\napi: {{rate_limit_per_minute: 100000000}}\n", encoding="utf-8")
    api = start([str(ROOT / ".venv" / "bin" / "hub"), "--config", str(cfg), "--quiet", "serve", "--port", str(port)],
                port, "/health", env={"HUB_SECRET_KEY": SECRET,
                                      **({"PYTHONPATH": str(args.server_tree)} if args.server_tree else {})})
    results: dict[str, dict] = {}
    try:
        cursor, n = None, 0
        while len(page_paths) < 41:
            r = httpx.get(f"http://127.0.0.1:{port}/persons", params={"grid": village, "limit": 50,
                                                                   **({"cursor": cursor} if cursor else {})},
                          headers=auth)
            r.raise_for_status()
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
            n += 1
            if n % args.page_every == 0:
                page_paths.append(f"/persons?grid={village}&limit=50&cursor={cursor}")
        base = f"http://127.0.0.1:{port}"
        wrk(base, person_paths, 4, 3, auth)  # warm-up
        wrk(base, page_paths, 4, 3, auth)
        for run in runs:
            kind, conns = RUNS[run]
            if run.startswith("api "):
                results[run] = wrk(base, person_paths if kind == "person" else page_paths, conns, args.seconds, auth,
                                   pid=api.pid)
    finally:
        api.terminate()
        try:
            api.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print("warning: the API server did not stop within 60 s of SIGTERM; killed", file=sys.stderr)
            api.kill()
    audit = subprocess.run([str(ROOT / ".venv" / "bin" / "hub"), "--config", str(cfg), "audit", "--json",
                            "--limit", "1"], capture_output=True, text=True, env={**os.environ, "HUB_SECRET_KEY": SECRET})
    audited = bool(json.loads(audit.stdout or "[]"))

    if not any(r.startswith("datasette ") for r in runs):
        write_report(args, results, build_s, village, villages[village], len(info["persons"]), audited)
        return
    dport = free_port()
    ds = start([str(DATASETTE), "serve", "-i", str(db), "--port", str(dport)], dport, "/-/versions.json")
    try:
        name = db.stem
        ds_paths = [f"/{name}/person/{p.split('/')[-1]}.json" for p in person_paths]
        dbase = f"http://127.0.0.1:{dport}"
        wrk(dbase, ds_paths, 4, 3, {})
        for run in runs:
            if run.startswith("datasette "):
                results[run] = wrk(dbase, ds_paths, RUNS[run][1], args.seconds, {}, pid=ds.pid)
    finally:
        ds.terminate()
        ds.wait(timeout=30)
    write_report(args, results, build_s, village, villages[village], len(info["persons"]), audited)


def write_report(args, results: dict, build_s: float, village: str, village_n: int, persons: int,
                 audited: bool) -> None:  # type: ignore[no-untyped-def]
    rows = "\n".join(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                     f"{'-' if r['cpu_ms'] is None else format(r['cpu_ms'], '.2f')} | {r['load']:.1f} | {r['non2xx']} |"
                     for name, r in results.items())
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    verdicts = []
    if "api page c4" in results:
        p99 = results["api page c4"]["p99"]
        verdicts.append(f"- the 50-row page at 4 concurrent, p99 ≤ 20 ms: {p99:.1f} ms, **{'met' if p99 <= 20 else 'NOT met'}**.")
    ours, theirs = results.get("api person c32"), results.get("datasette person c32")
    if ours and theirs:
        ratio, tail = ours["rps"] / theirs["rps"], ours["p99"] / theirs["p99"]
        verdicts.append(f"- person by id at 32 concurrent: **{ratio:.2f}×** datasette's requests/s (goal ≥ 1.5: "
                        f"{'met' if ratio >= 1.5 else 'NOT met'}); p99 {ours['p99']:.0f} ms vs {theirs['p99']:.0f} ms, "
                        f"{tail:.2f}× datasette's (goal ≤ ~2: {'met' if tail <= 2 else 'NOT met'}).")
    verdict = "\n".join(verdicts)
    text = f"""# Read API benchmark

Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}.
Server, datasette and the load generator (wrk, 1 thread) all share these cores over loopback.
Load average when the run started: {LOAD_BEFORE} (1/5/15 min), at the end: {os.getloadavg()[0]:.1f}; other
engineers' test suites were running on the same 2 cores, so absolute numbers are pessimistic and noisy.

Store: SQLite, the default township built by `hub.api.specimen` ({persons} persons incl. floating; the
synthetic world written straight into the unified tables, because resolve has not landed on main).
{'Reused (--reuse)' if args.reuse and build_s < 5 else f'Built in {build_s:.1f} s'}. The API runs as `hub serve` (uvicorn, one worker); the key has every scope
except `read:pii`, so every person response decrypts and masks the ID and phone, and every request is
authenticated, rate-limited and audited (audit rows written: {audited}).

- person by id: 2,000 random persons, round-robin (`GET /persons/{{id}}`: golden record, household,
  welfare, tags, special status, provenance and linked source records).
- page: `GET /persons?grid={village}&limit=50` (a village of {village_n} persons), the first page and
  every following page by cursor, round-robin.
- datasette 0.65.5 (`datasette serve -i`, immutable) on the same file: `GET /<db>/person/<id>.json`,
  the equivalent row by primary key.

Server CPU is the server process's utime+stime over the run divided by the requests answered (the figure
that moves least with other people's load); "load" is the 1-minute load average at the run's end.

| run | requests/s | p50 ms | p99 ms | server CPU ms/request | load | non-2xx |
|---|---|---|---|---|---|---|
{rows}

{verdict}

Reproduce: `.venv/bin/python bench/bench_api.py --residents {args.residents} --seconds {args.seconds}`
(needs `wrk` from Debian and datasette in `bench/.venv-datasette`).
"""
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

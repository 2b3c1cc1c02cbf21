"""Township benchmark: a village's ledger export and the township's quarterly assessment, whole commands.

Builds a county as a specimen store (``hub.api.specimen``: the synthetic world written straight into the
unified tables, ``--townships`` townships sharing ``--residents``), then times what a user waits for,
each a fresh ``hub`` process (interpreter start, imports, config, store, work, file written):

- ``hub ledger export --grid <the largest village> --out ledger.xlsx`` (target ≤ 5 s at 500k residents);
- ``hub assess --period 2026Q3 --within <its township> --json`` (target ≤ 10 s at 500k residents);
- and, for scale, ``hub assess --period 2026Q3 --json`` (every village of the county) and the township's
  quarterly ranking (three quarters assessed).

    .venv/bin/python bench/bench_township.py --residents 500000 --townships 25   # bench/results/township.md
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / ".venv" / "bin" / "hub"
SECRET = "bench-township-secret"
RUNS = 5


def build(work: Path, residents: int, townships: int) -> tuple[Path, float]:
    from hub.api.specimen import build_specimen
    from hub.db.migrate import upgrade
    from hub.privacy import Vault

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    url = f"sqlite:///{work / 'hub.db'}"
    (work / "hub.yaml").write_text(f"database: {url}\nlanding: landing\nsources: {{}}\n", encoding="utf-8")
    start = time.perf_counter()
    upgrade(url)
    build_specimen(url, Vault(SECRET), residents=residents, townships=townships)
    return work / "hub.yaml", time.perf_counter() - start


def pick(cfg: Path) -> tuple[str, str, int, int]:
    """The largest village (by residents) of the first township, and that township."""
    import sqlite3

    db = sqlite3.connect(cfg.parent / "hub.db")
    village, n = db.execute("SELECT substr(grid_code, 1, 12) v, count(*) FROM person WHERE length(grid_code) >= 12 "
                            "AND substr(grid_code, 10, 3) != '000' AND grid_code LIKE '130203101%' "
                            "GROUP BY v ORDER BY 2 DESC LIMIT 1").fetchone()
    total = db.execute("SELECT count(*) FROM person").fetchone()[0]
    return village, village[:9] + "000", n, total


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds (what the user waits) and CPU seconds of the process (what it cost, whatever the load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([str(HUB), *args], capture_output=True, text=True, env=env, timeout=600)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {out.stderr.strip()}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=20_000)
    ap.add_argument("--townships", type=int, default=1)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "township")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "township.md")
    ap.add_argument("--reuse", action="store_true", help="time an existing store in --work instead of building one")
    args = ap.parse_args()
    os.environ["HUB_SECRET_KEY"] = SECRET
    cfg, built = (args.work / "hub.yaml", 0.0) if args.reuse else build(args.work, args.residents, args.townships)
    village, township, village_people, total = pick(cfg)
    env = {**os.environ, "HUB_CONFIG": str(cfg), "HUB_SECRET_KEY": SECRET}
    load = os.getloadavg()
    commands = {
        "ledger export (village)": ["ledger", "export", "--grid", village, "--out", str(args.work / "ledger.xlsx"),
                                    "--as-of", "2026-11-05"],
        "assess 2026Q3 (township)": ["assess", "--period", "2026Q3", "--within", township, "--as-of", "2026-11-05",
                                     "--json"],
        "assess 2026Q3 (county)": ["assess", "--period", "2026Q3", "--as-of", "2026-11-05", "--json"],
        "ranking 2026Q3 (township)": ["assess", "ranking", "--period", "2026Q3", "--within", township, "--as-of",
                                      "2026-11-05", "--json"],
    }
    results: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    startup = [timed(["--help"], env) for _ in range(RUNS)]
    for name, argv in commands.items():
        runs = [timed(argv, env) for _ in range(RUNS)]
        results[name], cpu[name] = [w for w, _ in runs], [c for _, c in runs]
        print(f"{name}: median {statistics.median(results[name]):.2f} s (CPU {statistics.median(cpu[name]):.2f} s), "
              f"max {max(results[name]):.2f} s", flush=True)
    size = (args.work / "ledger.xlsx").stat().st_size
    targets = {"ledger export (village)": 5.0, "assess 2026Q3 (township)": 10.0}
    lines = [
        "# Township benchmark: ledger export and quarterly assessment",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}; load average "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (six other "
        "engineers share these cores: figures are pessimistic and noisy).",
        "",
        f"Store: SQLite, a county of {total:,} persons in {args.townships} township(s), written by "
        f"`hub.api.specimen` (the synthetic world straight into the unified tables) in {built:.0f} s"
        f"{' (reused)' if args.reuse else ''}. Village: {village} ({village_people:,} persons); township: {township}.",
        "",
        f"Each command is a fresh `hub` process, timed from start to exit ({RUNS} runs): interpreter, imports, "
        "hub.yaml, the store, the work, the file or JSON written. The ledger's reader has read:grids, read:people "
        f"and read:events (IDs and phones masked, so every ID and phone is decrypted and masked); workbook {size:,} bytes.",
        "",
        "| command | median s | max s | median CPU s | target |",
        "|---|---|---|---|---|",
        f"| `hub --help` (interpreter and imports only) | {statistics.median(w for w, _ in startup):.2f} | "
        f"{max(w for w, _ in startup):.2f} | {statistics.median(c for _, c in startup):.2f} | - |",
    ]
    for name, times in results.items():
        target = targets.get(name)
        verdict = "-" if target is None else (f"≤ {target:.0f} s: **{'met' if max(times) <= target else 'missed'}**")
        lines.append(f"| `hub {' '.join(commands[name][:2])}` {name} | {statistics.median(times):.2f} | "
                     f"{max(times):.2f} | {statistics.median(cpu[name]):.2f} | {verdict} |")
    lines += ["", f"Reproduce: `.venv/bin/python bench/bench_township.py --residents {args.residents} "
                  f"--townships {args.townships}`", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()

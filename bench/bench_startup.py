"""Start-up of the `hub` command (issue 19): every row of the county table is a whole command.

Times, as whole child processes from start to exit (wall, CPU = user + sys, peak memory):

- ``python -c "import hub.cli"`` (the interpreter and the command line's imports),
- ``hub --help``,
- ``hub runs --json`` on a small county's store,
- ``hub sync --all`` with nothing new (the public-security source served in this process).

Two source trees side by side, each a ``git archive`` of a revision put first on ``PYTHONPATH``
(the plugins are the installed ones): ``--before`` (default: the commit before the lazy imports)
and ``--after`` (default: HEAD). Runs alternate before/after so a machine whose speed drifts moves
both alike; medians are quoted, and the load average at the start and end is written beside them.
Each tree gets its own copy of the county and its own store (a revision may add a migration).

    .venv/bin/python bench/bench_startup.py                  # 2,000 residents, 7 runs of each
    .venv/bin/python bench/bench_startup.py --runs 11 --before <rev> --after <rev>
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
HUB = ROOT / ".venv" / "bin" / "hub"
TOKEN = "startup-bench-token"
#: the last commit whose `hub.cli` imported every command group's pipeline at start-up
BEFORE_REV = "9661be3"
NOTES = "## Notes"


def checkout(rev: str, into: Path) -> Path:
    """The revision's ``hub`` package, unpacked (no working tree is touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "hub"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Wall, CPU (user + sys) and peak memory of one child process, start to exit; a failure stops the bench."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode(errors='replace')[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def county(folder: Path, residents: int) -> Path:
    """A small county (generated once, kept): ``hub synth`` as a user runs it."""
    if not (folder / "hub.yaml").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([str(HUB), "synth", "--out", str(folder), "--residents", str(residents),
                        "--townships", "1"], check=True, capture_output=True)
    return folder


def commands(folder: Path) -> dict[str, list[str]]:
    config = str(folder / "hub.yaml")
    return {
        "import hub.cli": [str(PYTHON), "-c", "import hub.cli"],
        "hub --help": [str(HUB), "--help"],
        "hub runs --json": [str(HUB), "--config", config, "runs", "--json"],
        "hub sync --all (nothing new)": [str(HUB), "--config", config, "sync", "--all"],
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default=BEFORE_REV, help="revision timed as 'before'")
    ap.add_argument("--after", default="HEAD", help="revision timed as 'after'")
    ap.add_argument("--residents", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=7, help="counted runs of each command and tree (after one warm-up)")
    ap.add_argument("--folder", type=Path, default=ROOT / "bench" / "work" / "startup-county")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "startup.md")
    args = ap.parse_args()

    from hub.synth.server import start_in_thread

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    source = county(args.folder.resolve(), args.residents)
    url, stop = start_in_thread(source, TOKEN, rate_limit_per_s=1e6, fail_rate=0.0)
    revs = {"before": args.before, "after": args.after}
    shas = {label: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                                  capture_output=True, text=True).stdout.strip() for label, rev in revs.items()}
    results: dict[str, dict[str, list[dict[str, float]]]] = {label: {} for label in revs}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        setups = {}
        for label, rev in revs.items():
            tree = checkout(rev, Path(tmp) / label / "tree")
            folder = Path(tmp) / label / "county"
            shutil.copytree(source, folder, ignore=shutil.ignore_patterns("var"))
            config = folder / "hub.yaml"
            config.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', config.read_text(encoding="utf-8")),
                              encoding="utf-8")
            env = {**os.environ, "PYTHONPATH": str(tree), "PUBLIC_SECURITY_TOKEN": TOKEN, "COLUMNS": "120"}
            env.pop("HUB_CONFIG", None)
            timed([str(HUB), "--config", str(config), "sync", "--all"], env, folder)  # the fresh store: untimed
            setups[label] = (env, folder)
        try:
            for name in commands(source):
                for i in range(args.runs + 1):  # the first of each is a warm-up
                    for label, (env, folder) in setups.items():
                        figures = timed(commands(folder)[name], env, folder)
                        if i:
                            results[label].setdefault(name, []).append(figures)
                        print(f"{name} [{label}] run {i}/{args.runs}: wall {figures['wall']:.2f} s, "
                              f"CPU {figures['cpu']:.2f} s", file=sys.stderr)
        finally:
            stop()
    load_after = "/".join(f"{x:.1f}" for x in os.getloadavg())
    write(args, started, load_before, load_after, shas, results)


def write(args: argparse.Namespace, started: str, load_before: str, load_after: str, shas: dict[str, str],
          results: dict[str, dict[str, list[dict[str, float]]]]) -> None:
    lines = [
        "# `hub` start-up: whole commands before and after the lazy imports (issue 19)", "",
        f"Measured {started} on {os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"{load_before} at the start, {load_after} at the end (the machine is shared: compare the two columns, "
        "which ran alternately, more than the absolute figures).", "",
        f"County: {args.residents:,} residents, one township (`hub synth`), each tree its own copy and store, "
        "synced once before timing; public-security served by the benchmark. Each command is a child process "
        f"timed from start to exit: median of {args.runs} runs after a warm-up. Before = `{shas['before']}`, "
        f"after = `{shas['after']}` (each tree's `hub` package first on `PYTHONPATH`).", "",
        "| command | wall s before | wall s after | CPU s before | CPU s after | CPU after/before "
        "| peak MiB before | peak MiB after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in results["after"]:
        b, a = results["before"][name], results["after"][name]
        cpu_b, cpu_a = median([r["cpu"] for r in b]), median([r["cpu"] for r in a])
        lines.append(f"| `{name}` | {median([r['wall'] for r in b]):.2f} | {median([r['wall'] for r in a]):.2f} "
                     f"| {cpu_b:.2f} | {cpu_a:.2f} | {cpu_a / cpu_b:.2f} | {median([r['peak_mb'] for r in b]):.0f} "
                     f"| {median([r['peak_mb'] for r in a]):.0f} |")
    lines += ["", f"Reproduce: `.venv/bin/python bench/bench_startup.py --runs {args.runs} --before {shas['before']} "
              f"--after {shas['after']}`", ""]
    old = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
    if NOTES in old:  # hand-written findings below the table are kept
        lines += [old[old.index(NOTES):]]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()

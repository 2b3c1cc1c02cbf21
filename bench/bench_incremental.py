"""Issue 4: a no-change incremental run of all five department sources (plus the grid registry).

    .venv/bin/python bench/bench_incremental.py bench/work/demo-20000

Needs a county folder that has been synced once (e.g. by bench/bench_demo.py). Serves its
public-security data on the port hub.yaml names, then times `sync` of every source with nothing
new: in one warm process (the stages alone), and as the `hub sync --all` command (with start-up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    folder = Path(sys.argv[1]).resolve()
    os.environ["PUBLIC_SECURITY_TOKEN"] = "demo-token"
    from hub.context import HubContext
    from hub.orchestration.demo import start_public_security
    from hub.stages import sync

    stop = start_public_security(folder)
    try:
        ctx = HubContext.from_config(folder / "hub.yaml")
        sources = list(ctx.config.sources)
        sync(ctx, sources[0], resolve=False)  # warm the process: imports, plugins, contracts
        rows: list[tuple[str, int, float]] = []
        started = time.monotonic()
        for name in sources:
            t0 = time.monotonic()
            info = sync(ctx, name, resolve=False)
            rows.append((name, info.extract.rows, time.monotonic() - t0))
        warm = time.monotonic() - started
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "hub", "-q", "--config", str(folder / "hub.yaml"), "sync", "--all",
                               "--no-resolve"], capture_output=True, text=True, check=False)
        cli = time.monotonic() - t0
    finally:
        stop()
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    lines = ["# No-change incremental run of every source", "",
             f"County: `{folder.name}`; measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on 2 cores.",
             f"Reproduce: `.venv/bin/python bench/bench_incremental.py {folder.relative_to(ROOT)}`", "",
             "| source | rows read | seconds (warm process) |", "|---|---:|---:|"]
    lines += [f"| {n} | {r} | {s:.2f} |" for n, r, s in rows]
    lines += ["", f"All sources, warm process: **{warm:.2f} s** (target ≤ 5 s).",
              f"`hub sync --all --no-resolve` as a command, Python start-up and imports included: **{cli:.2f} s**.", ""]
    out = ROOT / "bench/results/incremental.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

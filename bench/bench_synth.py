"""Benchmark `hub synth`: wall time and peak RSS at township (20k) and county (500k) scale.

Each size runs in a fresh child process so peak RSS is that run's own. Usage:
    python bench/bench_synth.py [--sizes 20000,500000] [--out bench/results/synth.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from hub.synth import generate
t = time.perf_counter()
s = generate(Path(sys.argv[1]), seed=7, residents=int(sys.argv[2]), days=3)
print(json.dumps({"seconds": time.perf_counter() - t, "summary": s.as_dict(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
TARGETS = {20000: (20, 2048), 500000: (300, 2048)}


def run(residents: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, tmp, str(residents)], check=True, capture_output=True,
                             text=True)
        wall = time.perf_counter() - t
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(wall_with_import=wall, output_mb=size / 2**20)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,500000")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "synth.md"))
    args = ap.parse_args()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n)
        limit_s, limit_mb = TARGETS.get(n, (None, None))
        ok = limit_s is None or (r["seconds"] <= limit_s and r["peak_rss_mb"] <= limit_mb)
        s = r["summary"]
        rows.append(f"| {n:,} | {r['seconds']:.1f} | {r['wall_with_import']:.1f} | {r['peak_rss_mb']:.0f} | "
                    f"{r['output_mb']:.0f} | {s['population_persons']:,} | {s['entity_records']:,} | "
                    f"{limit_s or '-'} s / {limit_mb or '-'} MB: {'met' if ok else 'MISSED'} |")
        print(rows[-1], flush=True)
    cpu = platform.processor() or platform.machine()
    text = "\n".join([
        "# hub synth benchmark", "",
        f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; "
        f"`python bench/bench_synth.py --sizes {args.sizes}`; seed 7, 3 change days, default noise.", "",
        "| residents | generate (s) | process wall (s) | peak RSS (MB) | output (MB) | t_rk_ry rows | truth entity rows | target |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows, "",
    ])
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

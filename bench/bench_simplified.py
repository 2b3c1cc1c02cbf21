"""Benchmark: traditional → simplified (``hub.quality.simplified``) on a county's names and addresses.

Issue 18 item 11 moved the step from the pure-Python ``opencc-python-reimplemented`` (reading a
private attribute for its dictionaries) to the maintained native ``opencc`` binding. Each run
measures the implementation installed now, in a fresh process: the first use (dictionaries loaded,
the skip set built), ``to_simplified`` over the corpus, and OpenCC's own ``convert`` over every
string; and prints a digest of the outputs, so two runs on two implementations show the same
output. Appends a section to bench/results/simplified.md.

    .venv/bin/python bench/bench_simplified.py [--strings 200000]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import platform
import random
import time
from pathlib import Path


def corpus(n: int) -> list[str]:
    """Names and addresses as departments write them: 90% simplified, 10% traditional (s2t of the same)."""
    import opencc

    from hub.synth.names import given_name, surname

    rng = random.Random(18)
    s2t = opencc.OpenCC("s2t")
    villages = ["东村", "西庄", "长乐乡", "南湖社区", "龙泉村", "新华街道", "丰润镇", "兴隆里"]
    plain = []
    for i in range(n):
        if i % 2:
            plain.append(surname(rng) + given_name(rng, rng.choice("12")))
        else:
            plain.append(f"唐山市丰南区{rng.choice(villages)}{rng.randint(1, 30)}组{rng.randint(1, 300)}号")
    return [s2t.convert(x) if i % 10 == 0 else x for i, x in enumerate(plain)]


def implementation() -> str:
    for dist in ("opencc", "opencc-python-reimplemented"):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strings", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "simplified.md")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="read the strings from this file (one a line), or write them there first: two "
                             "implementations then convert the very same text")
    args = parser.parse_args()
    if args.corpus and args.corpus.exists():
        texts = args.corpus.read_text(encoding="utf-8").splitlines()
    else:
        texts = corpus(args.strings)
        if args.corpus:
            args.corpus.write_text("\n".join(texts), encoding="utf-8")

    started = time.perf_counter()
    from hub.quality.simplified import _converter, to_simplified, traditional_chars

    traditional_chars()
    first_use = time.perf_counter() - started

    started = time.perf_counter()
    out = [to_simplified(t) for t in texts]
    skipping = time.perf_counter() - started

    convert = _converter().convert
    started = time.perf_counter()
    full = [convert(t) for t in texts]
    converting = time.perf_counter() - started

    assert out == full, "to_simplified differs from OpenCC's own convert"
    digest = hashlib.sha256("\n".join(out).encode()).hexdigest()[:16]
    changed = sum(a != b for a, b in zip(texts, out, strict=True))
    section = f"""
## {implementation()} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.python_version()})

{len(texts):,} names and addresses (10% written traditional), {changed:,} changed by t2s; output sha256 `{digest}`

| step | seconds | µs a string |
|---|---:|---:|
| first use: load dictionaries, build the skip set | {first_use:.3f} | |
| `to_simplified` (skip what has nothing to convert) | {skipping:.3f} | {1e6 * skipping / len(texts):.2f} |
| OpenCC `convert` on every string | {converting:.3f} | {1e6 * converting / len(texts):.2f} |
"""
    if not args.out.exists():
        args.out.write_text("# Traditional → simplified (`hub.quality.simplified`)\n\n"
                            "`.venv/bin/python bench/bench_simplified.py --strings 200000 --corpus /tmp/t2s-corpus.txt`; "
                            "one section a run (the first writes the corpus, later runs read the same strings).\n",
                            encoding="utf-8")
    with args.out.open("a", encoding="utf-8") as fh:
        fh.write(section)
    print(section)


if __name__ == "__main__":
    main()

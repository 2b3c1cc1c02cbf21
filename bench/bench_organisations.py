"""Organisation linking accuracy: the adversarial corpus and a synthetic county, beside baselines.

    .venv/bin/python bench/bench_organisations.py [--seeds 14 15 16 17] [--residents 20000 --townships 3]

Writes bench/results/organisations.md. Every figure is pairwise precision/recall/F1 over the organisation
references against truth, each store built through the real connectors, gate, load and resolve:

- the corpus (tests/resolve/org_corpus.py, written from legacy-systems.md), one store per seed;
- a ``hub synth`` county (names written otherwise at the generator's rates, hub/synth/orgnames.py).

Beside the hub: *exact name* (same name as written = one organisation), *normalised name* (NFKC,
traditional → simplified, spaces and punctuation gone), and *before* — the resolver as it was at
39476dc (the session's start), run on the same mentions.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
import types
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "resolve"))
os.environ.setdefault("HUB_SECRET_KEY", "bench-organisations")

import county  # noqa: E402
import org_corpus  # noqa: E402
from sqlalchemy import select  # noqa: E402

from hub.db.models import EntityLink, GridCell  # noqa: E402
from hub.db.session import transaction  # noqa: E402
from hub.quality.simplified import to_simplified  # noqa: E402
from hub.resolve.persons.deterministic import Decisions  # noqa: E402
from hub.resolve.persons.records import ORG, read_mentions, stream_plans  # noqa: E402

BEFORE = "39476dc"
NOTES = """\
## How to read these figures

**The corpus** (tests/resolve/org_corpus.py) was written from legacy-systems.md's words, not from
hub/synth: its own county (石家庄市藁城区, the spec's example), four townships, public bodies, firms with
credit codes, small premises often without, 8 look-alike pairs in one village (one character apart: six
of the same sound, two not), one shop name in two townships (twice), 10 firms re-registered under their
code with a new name (two unit records). Each firm is named by dispute parties (written with care: 40% of
the chance of each variation) and by floating persons as their employer (75%), with every variation kind.
It is harder than a real county: most references are written otherwise (the exact-name baseline finds
12% of the pairs; on the independent county a normalised-name join found 0.87 F1).

Not a blind test, said plainly: seed 14 was the development seed. Its first run (recall 0.85) showed the
resolver missing the name people use when characters are left out in the middle (腾飞汽配 for
腾飞汽车配件), abbreviations with a slipped character, a township's public bodies written with and
without the county, and dispute parties the connector took for persons (`安泰服装`, a bracket note after
公司, a full-width space); each was fixed in the resolver or the connector, not in the corpus. Two corpus
bugs were fixed after that run: citizen IDs with a wrong check character (stdnum's calc_check_digit wants
a placeholder digit) and two look-alike firms given the same house (the spec makes a shared address a
tie, so two firms must not share one). Seeds 15-17 were first run after those changes: new instances of
the same kinds, not new kinds.

What is left (every residual split is in the review queue or undecidable): a mention of a name two
townships share, from a third place (`name_ambiguous`); a short name (under five characters) related
only loosely (the name people use, a same-sound slip) whose place speaks against it: asked, not guessed.
No false merge in any seed.

**The synthetic county** now writes organisation names otherwise where they are mentioned
(hub/synth/orgnames.py): a floating person's employer 25% of the time, a dispute party 12%; kinds
weighted divisions 30, legal form 20, bracket note 12, the name people use 12, spaces 12, same-sound
slip 8, traditional 6 (one kind, or two a quarter of the time). A slip that would land on another
organisation's name is not made (no resolver could see it). One village in ten gets two shops whose
surnames sound alike (王记超市 and 汪记超市): the spec's "two different small firms in one village".

*The identical-name duplicates are kept.* The previous session's ceiling came from shops bearing one
bare name in several villages of a township (synth keeps 5% of such names bare; the rest carry their
village) and employers drawn among them. The spec names look-alikes one character apart, but it does
not say identical names do not occur, and they do (王记超市, 便民超市 in many villages); the employee's
record holds only the name and their home, so those mentions are honestly undecidable and go to the
steward. Changing the generator to remove them would only tune it to pass. At 500,000 residents the
best any non-guessing resolver could do on organisations was 0.9876 (bench/results/resolve.md, measured
before this session's changes and not re-measured here); at the sizes measured below the targets hold.
"""
_PUNCT = re.compile(r"[\s\W_]+")


def f1(score: dict) -> float:
    p, r = score["precision"], score["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


def mentions(ctx):  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as s:
        return [m for m in read_mentions(s, stream_plans(ctx, s)) if m.etype == ORG and not (m.deleted and not m.credit)]


def by_name(ms, fold) -> dict:  # type: ignore[no-untyped-def]
    return {m.address: f"n:{fold(m.name)}" if m.name else f"r:{m.address}" for m in ms}


def normalised(name: str) -> str:
    return _PUNCT.sub("", to_simplified(unicodedata.normalize("NFKC", name))).upper()


def before(ctx, ms) -> dict:  # type: ignore[no-untyped-def]
    """The session-start resolver (its own module text from git) on the same mentions."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:hub/resolve/organisations.py"],
                          capture_output=True, text=True, check=True).stdout
    old = types.ModuleType("organisations_before")
    exec(compile(text, "organisations_before", "exec"), old.__dict__)  # noqa: S102 - our own history
    with transaction(ctx.db_url) as s:
        towns = s.execute(select(GridCell.code, GridCell.name).where(GridCell.level == 1)).tuples().all()
    groups, _, _ = old.link_orgs(ms, {}, Decisions(), old.township_names(towns))
    return {ms[i].address: f"g:{g}" for g, members in enumerate(groups) for i in members}


def hub(ctx) -> tuple[dict, Counter]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as s:
        rows = s.execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id,
                                EntityLink.method).where(EntityLink.entity_type == ORG)).tuples().all()
    return {(a, b, c): e for a, b, c, e, _ in rows}, Counter(m for *_, m in rows)


def score_all(truth: dict, ctx, keys: set) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    ms = mentions(ctx)
    pred, methods = hub(ctx)
    out = {"hub (this session)": pairwise(truth, pred, keys)}
    out["before (39476dc)"] = pairwise(truth, before(ctx, ms), keys)
    out["exact name"] = pairwise(truth, by_name(ms, lambda n: n), keys)
    out["normalised name"] = pairwise(truth, by_name(ms, normalised), keys)
    out["_methods"] = dict(methods)  # type: ignore[assignment]
    return out


def pairwise(truth: dict, pred: dict, keys: set) -> dict:
    return county.pairwise(truth, pred, keys)


def table(rows: dict[str, dict]) -> list[str]:
    lines = ["| resolver | precision | recall | F1 | predicted pairs | true pairs |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in rows.items():
        if not name.startswith("_"):
            lines.append(f"| {name} | {s['precision']:.4f} | {s['recall']:.4f} | {f1(s):.4f} | "
                         f"{s['predicted_pairs']:,} | {s['true_pairs']:,} |")
    return lines


def run_corpus(seed: int, work: Path) -> tuple[dict, org_corpus.Corpus, float]:
    out = work / f"corpus-{seed}"
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    corpus, ctx, stop = org_corpus.load(out, seed=seed)
    took = time.perf_counter() - started
    try:
        rows = score_all(corpus.truth, ctx, set(corpus.truth))
        rows["_persons"] = county.pairwise(corpus.persons, county.predicted(ctx, "person"), set(corpus.persons))
        return rows, corpus, took
    finally:
        stop()


def run_synth(residents: int, townships: int, work: Path) -> tuple[dict, dict, float]:
    from hub.resolve.entities import resolve_entities
    from hub.resolve.grids import project_grids

    out = work / f"synth-{residents}x{townships}"
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    ctx, stop, sources = county.build_county(out, residents=residents, days=2, townships=townships)
    try:
        ctx.ensure_store()
        county.sync_all(ctx, sources)
        project_grids(ctx)
        started = time.perf_counter()
        resolve_entities(ctx)
        took = time.perf_counter() - started
        truth = county.truth_clusters(out, "organization", ctx)
        loaded, excluded = county.loaded_addresses(ctx), county.quarantined(out, ctx)
        keys = {k for k in truth if k in loaded and k not in excluded}
        with (out / "truth" / "faults.csv").open(encoding="utf-8") as f:
            import csv
            faults = Counter(r["fault"] for r in csv.DictReader(f) if r["fault"].startswith("org_name_"))
        persons = county.pairwise(county.truth_clusters(out, "person", ctx), county.predicted(ctx, "person"),
                                  loaded, excluded)
        rows = score_all(truth, ctx, keys)
        rows["_persons"] = persons
        return rows, dict(faults), took
    finally:
        stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[14, 15, 16, 17])
    ap.add_argument("--residents", type=int, default=20_000)
    ap.add_argument("--townships", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-organisations"))
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "organisations.md")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["# Organisation linking: adversarial corpus and synthetic county", "",
             f"`.venv/bin/python bench/bench_organisations.py --seeds {' '.join(map(str, args.seeds))} "
             f"--residents {args.residents} --townships {args.townships}` on {platform.node()}, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Pairwise over every organisation reference "
             "against truth; each store built through the real connectors, gate, load and resolve.", ""]
    for seed in args.seeds:
        rows, corpus, took = run_corpus(seed, args.out)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(corpus.kinds.items()))
        lines += [f"## Corpus, seed {seed}", "",
                  f"{len(corpus.truth)} references to {len(set(corpus.truth.values()))} organisations; variations "
                  f"written: {kinds}. Write + sync + resolve: {took:.1f} s. Persons named beside them: "
                  f"P {rows['_persons']['precision']:.4f} / R {rows['_persons']['recall']:.4f} "
                  f"({rows['_persons']['true_pairs']} pairs).", "", *table(rows), "",
                  f"Link methods: {rows['_methods']}", ""]
        print(f"corpus {seed}: {rows['hub (this session)']}", flush=True)
    rows, faults, took = run_synth(args.residents, args.townships, args.out)
    p = rows["_persons"]
    lines += [f"## hub synth, {args.residents:,} residents, {args.townships} townships", "",
              f"Organisation names written otherwise (truth/faults.csv): {faults}. Entity resolution {took:.1f} s. "
              f"Persons on the same county: P {p['precision']:.4f} / R {p['recall']:.4f} ({p['true_pairs']:,} pairs).",
              "", *table(rows), "", f"Link methods: {rows['_methods']}", ""]
    args.results.write_text("\n".join(lines) + "\n" + NOTES, encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

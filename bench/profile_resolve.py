"""Where ``resolve_entities`` spends its time, fresh and incremental, and proof that a change kept its output.

    .venv/bin/python bench/profile_resolve.py prepare --residents 100000 --townships 5 --out /tmp/prof/c100k
    .venv/bin/python bench/profile_resolve.py run --out /tmp/prof/c100k --state day1 --tag before
    .venv/bin/python bench/profile_resolve.py run --out /tmp/prof/c100k --state day2 --tag before
    .venv/bin/python bench/profile_resolve.py diff --out /tmp/prof/c100k --state day1 before after
    .venv/bin/python bench/profile_resolve.py run --out /tmp/prof/c100k --state day2 --tag now --phases  # CPU s a phase

``prepare`` builds a synthetic county, syncs days 0-1 (no resolve) and keeps a copy of the store
(``day1``: what a fresh ``hub sync --all`` resolves), resolves it in full, syncs day 2 and keeps that
store too (``day2``: a day of changes waiting for its incremental resolve). ``run`` restores one of the
copies (and, for ``day1``, removes the trained model, as on a fresh install), runs ``resolve_entities``
under cProfile in a child process, prints the per-phase table, and dumps what resolve decided (the
crosswalk, golden persons/households/organisations, the review queue) so ``diff`` can compare two runs
of different code on the same input. Timings are noisy on a shared machine: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# phase -> functions (file suffix, name) whose cumulative time is that phase's; nested phases are
# listed as parts of their parent in the report, never added to it twice
PHASES: list[tuple[str, list[tuple[str, str]]]] = [
    ("changed records (SQL)", [("resolve/entities.py", "changed_records")]),
    ("read mentions (SQL + JSON + mentions)", [("persons/records.py", "read_mentions")]),
    ("  of which blind index of keys (tombstones)", [("persons/records.py", "key_citizen_id")]),
    ("load old links", [("resolve/store.py", "load_links"), ("resolve/store.py", "load_links_of")]),
    ("expand (incremental)", [("resolve/entities.py", "_expand")]),
    ("Splink model load/train", [("persons/linking.py", "load_or_train")]),
    ("link persons (deterministic + Splink + clusters)", [("persons/linking.py", "link_persons")]),
    ("  of which Splink predict", [("persons/probabilistic.py", "predict")]),
    ("external profiles + name tf (incremental)", [("resolve/entities.py", "_external_profiles"),
                                                   ("resolve/entities.py", "_names_tf")]),
    ("households link + golden", [("resolve/households.py", "link_households"),
                                  ("resolve/households.py", "golden_household"),
                                  ("resolve/entities.py", "_head_candidates")]),
    ("assign stable ids", [("persons/clusters.py", "assign_ids")]),
    ("golden persons", [("persons/golden.py", "golden_person"), ("persons/probabilistic.py", "pinyin")]),
    ("link organisations", [("organisations/linking.py", "link_orgs")]),
    ("golden organisations", [("organisations/golden.py", "golden_org")]),
    ("write golden rows (compare + insert/update)", [("resolve/store.py", "sync_rows")]),
    ("retire/revive/redirects", [("resolve/store.py", "retire"), ("resolve/store.py", "revive"),
                                 ("resolve/store.py", "redirected_ids")]),
    ("write links", [("resolve/store.py", "write_links")]),
    ("write change feed", [("resolve/store.py", "write_feed")]),
    ("welfare/special programmes", [("resolve/entities.py", "_programmes"), ("resolve/programmes.py", "write_programmes")]),
    ("commit", [("orm/session.py", "commit")]),
]

CHILD = """
import cProfile, gc, json, sys, time
gc_time, gc_start, gc_cpu = [0.0, 0], [0.0, 0.0], [0.0, 0.0, 0.0]
def _gc(phase, info):  # time in the cyclic garbage collector (wall, and CPU per generation), full passes
    if phase == "start": gc_start[0], gc_start[1] = time.perf_counter(), time.thread_time()
    else:
        gc_time[0] += time.perf_counter() - gc_start[0]; gc_time[1] += info["generation"] == 2
        gc_cpu[info["generation"]] += time.thread_time() - gc_start[1]
gc.callbacks.append(_gc)
from hub.context import HubContext
from hub.resolve.entities import resolve_entities
from hub.resolve.grids import project_grids
ctx = HubContext.from_config(sys.argv[1])
project_grids(ctx)  # as the resolve stage does first
phases = {}
if sys.argv[3:] == ["phases"]:  # CPU seconds of each phase, outermost call only (no per-call profiler cost)
    import importlib
    def _timed(label, fn, gen=False):
        depth = [0]
        def run(*a, **k):
            depth[0] += 1; t0 = time.process_time()
            try:
                return list(fn(*a, **k)) if gen else fn(*a, **k)
            finally:
                depth[0] -= 1
                if not depth[0]: phases[label] = phases.get(label, 0.0) + time.process_time() - t0
        return run
    for label, module, name in PHASE_TIMERS:
        owner = importlib.import_module(module)
        *path, name = name.split(".")
        for part in path:  # a method: Class.method
            owner = getattr(owner, part)
        setattr(owner, name, _timed(label, getattr(owner, name), gen=name == "read_mentions"))
prof = cProfile.Profile() if sys.argv[2] != "-" else None
t, cpu = time.perf_counter(), time.process_time()
if prof: prof.enable()
counts = resolve_entities(ctx)
if prof: prof.disable()
dt, cpu = time.perf_counter() - t, time.process_time() - cpu
if prof: prof.dump_stats(sys.argv[2])
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": dt, "cpu_seconds": cpu, "counts": counts, "peak_mb": peak / 1024, "gc_seconds": gc_time[0],
                  "gc_full_passes": gc_time[1], "gc_cpu_by_generation": [round(x, 2) for x in gc_cpu],
                  "phases": {k: round(v, 2) for k, v in sorted(phases.items(), key=lambda kv: -kv[1])}}))
"""
# --phases: (label, module the caller looks the function up in, name); a phase called inside another is
# timed on its own too, so the figures overlap where the labels say "of which"
PHASE_TIMERS = [
    ("changed records", "hub.resolve.entities", "changed_records"),
    ("read mentions", "hub.resolve.entities", "read_mentions"),
    ("expand (a day)", "hub.resolve.entities", "_expand"),
    ("  of which organisation look-alikes", "hub.resolve.organisations.expand", "Lookalikes.__call__"),
    ("Splink model load/train", "hub.resolve.entities", "load_or_train"),
    ("link persons", "hub.resolve.entities", "link_persons"),
    ("  of which Splink scoring (linker set-up included)", "hub.resolve.persons.probabilistic", "score"),
    ("golden persons", "hub.resolve.entities", "golden_person"),
    ("assign stable ids", "hub.resolve.entities", "assign_ids"),
    ("link organisations", "hub.resolve.entities", "link_orgs"),
    ("golden organisations", "hub.resolve.entities", "golden_org"),
    ("write golden rows", "hub.resolve.store", "sync_rows"),
    ("write links", "hub.resolve.store", "write_links"),
    ("load links of records", "hub.resolve.store", "load_links_of"),
    ("welfare/special programmes", "hub.resolve.entities", "write_programmes"),
]

DUMPS = {  # what resolve decides; timestamps and encrypted columns (random nonces) left out
    "crosswalk": "SELECT source, stream, source_key, entity_type, entity_id, method, round(score, 6) FROM entity_link",
    "persons": "SELECT * FROM person",
    "households": "SELECT * FROM household",
    "organisations": "SELECT * FROM organization",
    "review": "SELECT entity_type, left_key, right_key, round(score, 6), status FROM match_review",
    "redirects": "SELECT old_id, entity_type, new_id, reason FROM entity_redirect",
    "welfare": "SELECT * FROM welfare_enrolment",
}
SKIP_COLUMNS = ("created_at", "updated_at", "citizen_id_enc", "phone_enc", "id_enc", "category_enc")


def _store(out: Path) -> Path:
    return out / "var" / "hub.db"


def _copy_store(src: Path, dst: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)


def prepare(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "resolve"))
    sys.path.insert(0, str(ROOT / "bench"))
    import county
    from bench_resolve import hide_last_day

    shutil.rmtree(args.out, ignore_errors=True)
    if args.copy_of:  # a county generated before (read-only): copied, its public security served from the copy
        shutil.copytree(args.copy_of, args.out, ignore=shutil.ignore_patterns("var"))
        ctx, handle, sources = _serve(args.out)
    else:
        ctx, handle, sources = county.build_county(args.out, args.residents, days=2, townships=args.townships)
    moved = hide_last_day(args.out, args.out.parent / (args.out.name + "-stash"))
    handle.set_day(1)
    county.sync_all(ctx, sources)
    snaps = args.out / "snap"
    snaps.mkdir(exist_ok=True)
    _checkpoint(_store(args.out))
    shutil.copyfile(_store(args.out), snaps / "day1.db")
    print(json.dumps(_child(args.out, "-")))
    for dst, src in moved:
        shutil.move(str(dst), str(src))
    handle.set_day(2)
    county.sync_all(ctx, sources)
    handle()
    _checkpoint(_store(args.out))
    shutil.copyfile(_store(args.out), snaps / "day2.db")
    shutil.copyfile(args.out / "var" / "landing" / "_resolve" / "person-model.json", snaps / "person-model.json")


def _serve(out: Path):  # type: ignore[no-untyped-def]
    """Serve a copied county's public security over loopback (as ``county.build_county`` does for a new one)."""
    import re

    import county

    from hub.context import HubContext
    from hub.synth.server import start_in_thread

    url, handle = start_in_thread(out, county.TOKEN, rate_limit_per_s=1e6, fail_rate=0.0)
    cfg = out / "hub.yaml"
    cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                   encoding="utf-8")
    os.environ["PUBLIC_SECURITY_TOKEN"] = county.TOKEN
    ctx = HubContext.from_config(cfg)
    installed = set(ctx.host.connectors())
    return ctx, handle, [name for name, s in ctx.config.sources.items() if s.connector in installed]


def _checkpoint(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _child(out: Path, prof: str, spy: Path | None = None, code: Path | None = None, phases: bool = False) -> dict:
    env = {**os.environ, "HUB_SECRET_KEY": os.environ.get("HUB_SECRET_KEY", "bench-resolve-secret")}
    if code is not None:  # another copy of the hub package (the code before a change) ahead of this one
        env["PYTHONPATH"] = str(code)
    cmd = [sys.executable, "-c", CHILD.replace("PHASE_TIMERS", repr(PHASE_TIMERS)), str(out / "hub.yaml"), prof,
           *(["phases"] if phases else [])]
    if spy is not None:  # sampling (no per-call overhead): collapsed stacks for spy_table
        spy_bin = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        cmd = [spy_bin or "py-spy", "record", "--nonblocking", "-r", "50", "-f", "raw",
               "-o", str(spy), "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out)
    if proc.returncode:
        raise SystemExit(proc.stderr[-4000:])
    return json.loads(next(line for line in reversed(proc.stdout.splitlines()) if line.startswith("{")))


def run(args: argparse.Namespace) -> None:
    snaps = args.out / "snap"
    _copy_store(snaps / f"{args.state}.db", _store(args.out))
    model = args.out / "var" / "landing" / "_resolve" / "person-model.json"
    if args.state == "day1":
        model.unlink(missing_ok=True)  # a fresh install trains its model
    else:
        shutil.copyfile(snaps / "person-model.json", model)
    load = os.getloadavg()
    prof = args.out / f"{args.state}-{args.tag}.prof"
    spy = args.out / f"{args.state}-{args.tag}.spy" if args.spy else None
    result = _child(args.out, "-" if args.no_profile or spy or args.phases else str(prof), spy, args.code,
                    args.phases)
    result["load_before"] = load
    result["load_after"] = os.getloadavg()
    print(json.dumps(result))
    if spy is not None:
        print(spy_table(spy, result["cpu_seconds"]))
    elif args.phases:
        print("| phase | CPU s |\n|---|---:|")
        print("\n".join(f"| {k} | {v:.2f} |" for k, v in result["phases"].items()))
        print(f"| **resolve_entities** | {result['cpu_seconds']:.2f} |")
    elif not args.no_profile:
        print(phase_table(prof, result["seconds"]))
    dump(args.out, args.out / f"dump-{args.state}-{args.tag}")


def phase_table(prof: Path, wall: float) -> str:
    stats = pstats.Stats(str(prof))
    cum: dict[tuple[str, str], float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        cum[(filename, name)] = max(cum.get((filename, name), 0.0), ct)
    total = max((ct for ct in cum.values()), default=wall)
    lines = ["| phase | seconds (profiled) | share |", "|---|---:|---:|"]
    for label, funcs in PHASES:
        sec = sum(ct for (f, n), ct in cum.items() for suffix, name in funcs if f.endswith(suffix) and n == name)
        if sec >= 0.005:
            lines.append(f"| {label} | {sec:.2f} | {sec / total:.0%} |")
    lines.append(f"| **resolve_entities under cProfile (its wall {wall:.1f} s)** | {total:.2f} | 100% |")
    return "\n".join(lines)


def spy_table(spy: Path, cpu: float) -> str:
    """Each phase's share of py-spy's samples inside resolve_entities (a sample counts for the outermost
    phase on its stack), times the run's CPU seconds: on a shared machine the wall time is mostly waiting
    for a core, and the share of samples is the comparable figure."""
    counts: dict[str, int] = {}
    inside = 0
    for line in spy.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not any("resolve_entities" in f for f in frames):
            continue
        inside += int(n)
        label = "other (resolve_entities itself, imports, small steps)"
        for frame in frames:
            hit = next((lab for lab, funcs in PHASES if not lab.startswith(" ")
                        for suffix, name in funcs if frame.startswith(f"{name} (") and suffix in frame), None)
            if hit:
                label = hit
                break
        counts[label] = counts.get(label, 0) + int(n)
    lines = ["| phase | share of samples | CPU seconds (share × the run's) |", "|---|---:|---:|"]
    order = [lab for lab, _ in PHASES] + ["other (resolve_entities itself, imports, small steps)"]
    for label in order:
        if counts.get(label):
            share = counts[label] / max(inside, 1)
            lines.append(f"| {label} | {share:.0%} | {share * cpu:.1f} |")
    lines.append(f"| **resolve_entities ({inside:,} samples)** | 100% | {cpu:.1f} |")
    return "\n".join(lines)


def dump(out: Path, target: Path) -> None:
    import sqlite3

    target.mkdir(exist_ok=True)
    with sqlite3.connect(_store(out)) as c:
        for name, sql in DUMPS.items():
            cur = c.execute(sql)
            cols = [d[0] for d in cur.description]
            keep = [i for i, col in enumerate(cols) if col not in SKIP_COLUMNS]
            rows = sorted(repr(tuple(r[i] for i in keep)) for r in cur)
            (target / f"{name}.txt").write_text("\n".join([repr([cols[i] for i in keep]), *rows]) + "\n",
                                                 encoding="utf-8")


def diff(args: argparse.Namespace) -> None:
    a, b = (args.out / f"dump-{args.state}-{t}" for t in (args.a, args.b))
    same = True
    for name in DUMPS:
        left = (a / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        right = (b / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        only_a, only_b = set(left) - set(right), set(right) - set(left)
        same &= not only_a and not only_b
        print(f"{name}: {len(left) - 1:,} vs {len(right) - 1:,} rows; only in {args.a} {len(only_a)}, "
              f"only in {args.b} {len(only_b)}")
        for row in sorted(only_a)[:3] + sorted(only_b)[:3]:
            print("   ", row[:300])
    print("IDENTICAL" if same else "DIFFERENT")
    sys.exit(0 if same else 1)


def whole_sync(args: argparse.Namespace) -> None:
    """``hub sync --all`` as a user runs it, start to exit, on a copy of the county: fresh (days 0-1 into an
    empty store), then one more day (day 2 delivered). Wall, CPU (os.wait4) and the resolve steps' seconds."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_county
    from bench_resolve import hide_last_day

    from hub.synth.server import start_in_thread

    folder = args.out.parent / f"{args.out.name}-sync-{args.tag}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(args.out, folder, ignore=shutil.ignore_patterns("var", "snap", "dump-*", "*.prof", "*.spy"))
    moved = hide_last_day(folder, folder.parent / (folder.name + "-day2"))
    url, handle = start_in_thread(folder, bench_county.TOKEN, rate_limit_per_s=1e6, fail_rate=0.0, day=1)
    cfg = folder / "hub.yaml"
    import re

    cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                   encoding="utf-8")
    if args.code is not None:
        bench_county.ENV["PYTHONPATH"] = str(args.code)
    try:
        for label in ("fresh", "day"):
            if label == "day":
                for dst, src in moved:
                    shutil.move(str(dst), str(src))
                handle.set_day(2)
            load = os.getloadavg()
            r = bench_county.sync_all(folder)
            print(json.dumps({"tag": args.tag, "run": label, "wall": round(r["wall"], 1), "cpu": round(r["cpu"], 1),
                              "peak_mb": round(r["peak_mb"]), "resolve": r["resolve"], "read": r["read"],
                              "load_before": load, "load_after": os.getloadavg()}), flush=True)
    finally:
        handle()
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--residents", type=int, default=100_000)
    p.add_argument("--townships", type=int, default=5)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--copy-of", type=Path, help="copy this `hub synth` county (days 0-2) instead of generating one")
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--state", choices=("day1", "day2"), required=True)
    r.add_argument("--tag", default="now")
    r.add_argument("--no-profile", action="store_true")
    r.add_argument("--spy", action="store_true", help="sample with py-spy instead of cProfile")
    r.add_argument("--phases", action="store_true",
                   help="CPU seconds per phase (timers around each phase's calls) instead of cProfile: cProfile's "
                        "wall clock and per-call cost distort the shares on a loaded machine")
    r.add_argument("--code", type=Path, help="a directory holding the hub package to run instead (before/after)")
    d = sub.add_parser("diff")
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--state", choices=("day1", "day2"), required=True)
    d.add_argument("a")
    d.add_argument("b")
    w = sub.add_parser("sync", help="time whole `hub sync --all` runs (fresh, then a day) on a copy of --out")
    w.add_argument("--out", type=Path, required=True, help="a prepared county (its snapshots are not used)")
    w.add_argument("--tag", default="now")
    w.add_argument("--code", type=Path, help="a directory holding the hub package to run instead (before/after)")
    w.add_argument("--keep", action="store_true", help="keep the synced copy")
    args = ap.parse_args()
    os.environ.setdefault("HUB_SECRET_KEY", "bench-resolve-secret")
    t = time.perf_counter()
    {"prepare": prepare, "run": run, "diff": diff, "sync": whole_sync}[args.cmd](args)
    print(f"# {args.cmd}: {time.perf_counter() - t:.1f} s, load average {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Cipher cost: AES-256-GCM-SIV (C, cryptography) against SM4-CBC + HMAC-SM3 (pure Python, gmssl).

Three figures, each the whole thing a user waits for:
1. one value sealed and opened (an 18-character citizen ID), µs;
2. ``hub sync population`` of a synthetic county with ``cipher:`` aes-gcm-siv, then sm4 (every ID and
   phone of every resident is encrypted at load);
3. ``hub keys rotate-secret --cipher sm4`` (and back) over that store.

    .venv/bin/python bench/bench_ciphers.py --residents 5000     # writes bench/results/ciphers.md
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB = str(ROOT / ".venv" / "bin" / "hub")
sys.path.insert(0, str(ROOT))


ENGINES = (("aes-gcm-siv", "auto"), ("sm4", "openssl"), ("sm4", "gmssl"))


def per_value(n: int) -> dict[str, tuple[float, float]]:
    from hub.privacy import Vault

    out = {}
    for cipher, engine in ENGINES:
        os.environ["HUB_SM4_ENGINE"] = engine
        vault = Vault("bench-secret", cipher=cipher)
        n = n if engine != "gmssl" else min(n, 300)
        start = time.perf_counter()
        tokens = [vault.encrypt(f"1101051949123{i:05d}") for i in range(n)]
        sealed = (time.perf_counter() - start) / n * 1e6
        start = time.perf_counter()
        for t in tokens:
            vault.decrypt(t)
        opened = (time.perf_counter() - start) / n * 1e6
        out[f"{cipher} ({engine})" if cipher == "sm4" else cipher] = (sealed, opened)
    os.environ.pop("HUB_SM4_ENGINE", None)
    return out


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip()[-400:]}")
    return took, done.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=5000)
    ap.add_argument("--values", type=int, default=5000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "ciphers.md"))
    args = ap.parse_args()
    lines = [f"# Cipher cost ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores)", "", f"`.venv/bin/python bench/bench_ciphers.py --residents {args.residents}`", ""]
    pv = per_value(args.values)
    lines += ["| cipher | seal one ID, µs | open one ID, µs |", "|---|---:|---:|"]
    lines += [f"| {c} | {s:.1f} | {o:.1f} |" for c, (s, o) in pv.items()]
    from hub.synth import generate

    work = Path(tempfile.mkdtemp(prefix="bench-ciphers-"))
    try:
        generate(work / "county", seed=7, residents=args.residents, days=1, townships=1)
        rows = []
        for cipher, engine in ENGINES:
            folder = work / f"{cipher}-{engine}"
            shutil.copytree(work / "county", folder)
            cfg = folder / "hub.yaml"
            text = cfg.read_text(encoding="utf-8")
            cfg.write_text(text + f"cipher: {cipher}\nsecret_key_file: var/hub.key\n", encoding="utf-8")
            env = {k: v for k, v in os.environ.items() if k != "HUB_SECRET_KEY"} | {"HUB_CONFIG": str(cfg),
                                                                                  "HUB_SM4_ENGINE": engine}
            run([HUB, "db", "upgrade"], env)
            took, out = run([HUB, "sync", "population", "--no-resolve"], env)
            rows.append((f"`hub sync population --no-resolve`, cipher {cipher} ({engine})", took, out.splitlines()[-1] if out else ""))
            if cipher == "aes-gcm-siv":
                for to, eng in (("sm4", "openssl"), ("aes-gcm-siv", "openssl"), ("sm4", "gmssl")):
                    took, out = run([HUB, "keys", "rotate-secret", "--cipher", to], env | {"HUB_SM4_ENGINE": eng})
                    rows.append((f"`hub keys rotate-secret --cipher {to}` ({eng}) on that store", took,
                                 re.sub(r"/\S+", "…", out)))
        lines += ["", f"A synthetic county of {args.residents} residents (population source only):", "",
                  "| command | seconds | what it said |", "|---|---:|---|"]
        lines += [f"| {what} | {took:.1f} | {said[:160]} |" for what, took, said in rows]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Traditional → simplified Chinese with OpenCC's ``t2s``, skipped for text that has nothing to convert.

The maintained native binding (PyPI ``opencc``) converts; nearly every name and address a
department writes is already simplified, so a string holding no character any ``t2s`` entry
changes is returned as it is (what OpenCC would return) without a call. The set of those
characters comes from the dictionaries ``t2s.json`` names, dumped to text once with the
``opencc_dict`` tool the package ships: public files and a public tool, not a private attribute
of a converter (what the unmaintained pure-Python package forced). ``bench/bench_simplified.py``
measures both.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

CONFIG = "t2s.json"


@cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC(CONFIG)


def _package_dirs() -> tuple[Path, Path]:
    """(the folder of OpenCC's configs and dictionaries, its ``opencc_dict`` tool)."""
    import opencc

    clib = Path(opencc.__file__).parent / "clib"
    return clib / "share" / "opencc", clib / "bin" / "opencc_dict"


def _dict_files(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "ocd2" and "file" in node:
            yield node["file"]
        for value in node.values():
            yield from _dict_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dict_files(item)


def dictionary_entries() -> Iterator[tuple[str, str]]:
    """Every (key, first value) of the dictionaries ``t2s`` applies (normalisation and conversion)."""
    share, tool = _package_dirs()
    config = json.loads((share / CONFIG).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="hub-t2s-") as tmp:
        for name in dict.fromkeys(_dict_files(config)):
            text = Path(tmp) / (name + ".txt")
            proc = subprocess.run([str(tool), "-i", str(share / name), "-o", str(text), "-f", "ocd2", "-t", "text"],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"opencc_dict could not read {share / name}: {proc.stderr.strip()[:200]}")
            for line in text.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("\t")
                yield key, value.split(" ")[0]


@cache
def traditional_chars() -> frozenset[str]:
    """The characters a ``t2s`` entry (phrase or character) changes: where an entry keeps its length,
    only those at the positions that differ (in 一口氣 only 氣; text without 氣 cannot hold that phrase);
    every character of an entry that changes length.

    Counting every character of a changing phrase flagged 30% of a county's names and addresses
    (一, 口 …); this set flags 0.3% and converts them exactly as OpenCC does."""
    chars: set[str] = set()
    for key, first in dictionary_entries():
        if not key or key == first:
            continue
        if len(key) == len(first):
            chars.update(k for k, v in zip(key, first, strict=True) if k != v)
        else:
            chars.update(key)
    return frozenset(chars)


def to_simplified(text: str) -> str:
    return text if traditional_chars().isdisjoint(text) else _converter().convert(text)

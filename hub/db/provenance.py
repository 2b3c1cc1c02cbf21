"""Per-attribute provenance, stored packed.

A golden record says, for each attribute, the source record, rule and time it came from:
``{attr: {source, stream, source_key, rule, at}}``. Most attributes of a record come from the same
one or two source records, so that shape repeats itself: 1.2 KB of a person row's 2 KB at county
scale, written once by linking and again by placement. The column stores it packed,

    {"~p": 1, "src": [[source, stream, source_key, at], ...], "rule": [rule, ...], "attr": {attr: [src, rule]}}

and every reader (the ORM, Core selects, the API) gets the documented shape back. An entry of any other
shape is kept as it is under ``"raw"``; a column written before packing existed reads unchanged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

FIELDS = ("source", "stream", "source_key", "rule", "at")
KEYS = frozenset(FIELDS)
MARK = "~p"


def pack(prov: dict[str, Any] | None) -> dict[str, Any] | None:
    if not prov or MARK in prov:
        return prov
    sources: dict[tuple[Any, ...], int] = {}
    rules: dict[Any, int] = {}
    attrs: dict[str, list[int]] = {}
    raw: dict[str, Any] = {}
    for attr, entry in prov.items():
        if not isinstance(entry, dict) or entry.keys() != KEYS:
            raw[attr] = entry
            continue
        src = (entry["source"], entry["stream"], entry["source_key"], entry["at"])
        if (s := sources.get(src)) is None:
            s = sources[src] = len(sources)
        if (r := rules.get(entry["rule"])) is None:
            r = rules[entry["rule"]] = len(rules)
        attrs[attr] = [s, r]
    out: dict[str, Any] = {MARK: 1, "src": [list(s) for s in sources], "rule": list(rules), "attr": attrs}
    if raw:
        out["raw"] = raw
    return out


def unpack(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(stored, dict) or MARK not in stored:
        return stored
    sources, rules = stored["src"], stored["rule"]
    out: dict[str, Any] = {}
    for attr, (s, r) in stored["attr"].items():
        source, stream, source_key, at = sources[s]
        out[attr] = {"source": source, "stream": stream, "source_key": source_key, "rule": rules[r], "at": at}
    out.update(stored.get("raw") or {})
    return out


class Provenance(TypeDecorator[dict[str, Any]]):
    """A JSON column holding provenance packed (see the module docstring)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return pack(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return unpack(value)

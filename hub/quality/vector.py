"""Column-at-a-time normalisation: Arrow compute fast paths, the scalar normaliser for the rest.

Each fast path accepts only values for which it provably gives what the scalar normaliser in
``hub.quality.normalize`` / ``identity`` would; every other value goes through that scalar
normaliser (once per distinct value), so reasons stay exact while the common case is vectorised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.events.clock import beijing_today
from hub.quality.invalid import Invalid
from hub.quality.normalize import normalizer
from hub.quality.simplified import traditional_chars

TYPES: dict[str, pa.DataType] = {
    "text": pa.string(), "code": pa.string(), "citizen_id": pa.string(), "phone": pa.string(),
    "name": pa.string(), "gender": pa.string(), "credit_code": pa.string(), "integer": pa.int64(),
    "number": pa.float64(), "date": pa.date32(), "datetime": pa.timestamp("us"), "bool": pa.bool_(),
}
_SPACE = r"[\s\p{Z}]"
_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


@dataclass
class Normalised:
    """A canonical column plus the rows that could not be normalised and why."""

    values: pa.Array
    bad_rows: np.ndarray  # row indices
    bad: list[Invalid]  # one per bad row


def normalize_array(kind: str | None, arr: pa.Array | pa.ChunkedArray) -> Normalised:
    kind = kind or "text"
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if kind == "keep":
        return Normalised(arr, np.empty(0, dtype=np.int64), [])
    target = TYPES.get(kind)
    if target is None:
        normalizer(kind)  # raises the clear "unknown normalizer" error
        target = pa.string()
    if pa.types.is_null(arr.type):
        return Normalised(pa.nulls(len(arr), target), np.empty(0, dtype=np.int64), [])
    fast = _FAST.get(kind)
    if fast is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        values, ok = fast(arr.cast(pa.string()))
        todo = pc.and_(pc.invert(ok), pc.is_valid(arr))
        if not pc.any(todo).as_py():
            return Normalised(values.cast(target), np.empty(0, dtype=np.int64), [])
        rest = by_unique(kind, arr, target, rows=todo)
        merged = pc.if_else(todo, rest.values, values.cast(target))
        return Normalised(merged, rest.bad_rows, rest.bad)
    direct = _direct(kind, arr, target)
    if direct is not None:
        return Normalised(direct, np.empty(0, dtype=np.int64), [])
    return by_unique(kind, arr, target)


def by_unique(kind: str, arr: pa.Array, target: pa.DataType, rows: pa.Array | None = None) -> Normalised:
    """The scalar normaliser once per distinct value (optionally only on the ``rows`` mask)."""
    fn = normalizer(kind)
    src = arr if rows is None else pc.if_else(rows, arr, pa.nulls(len(arr), arr.type))
    enc = pc.dictionary_encode(src)
    uniques = enc.dictionary.to_pylist()
    out: list[Any] = []
    failed: dict[int, Invalid] = {}
    for i, value in enumerate(uniques):
        try:
            out.append(fn(value))
        except Invalid as bad:
            out.append(None)
            failed[i] = bad
    values = pa.array(out, type=target).take(enc.indices) if uniques else pa.nulls(len(arr), target)
    if not failed:
        return Normalised(values, np.empty(0, dtype=np.int64), [])
    idx = enc.indices.to_numpy(zero_copy_only=False)
    codes = np.fromiter(failed, dtype=np.int64)
    hit = np.isin(idx, codes) & enc.indices.is_valid().to_numpy(zero_copy_only=False)
    bad_rows = np.flatnonzero(hit)
    return Normalised(values, bad_rows, [failed[int(idx[r])] for r in bad_rows])


def _direct(kind: str, arr: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Typed raw columns that need no per-value work."""
    t = arr.type
    if kind in ("integer", "number") and (pa.types.is_integer(t) or (kind == "number" and pa.types.is_floating(t))):
        return arr.cast(target)
    if kind in ("code", "text") and pa.types.is_integer(t):
        return arr.cast(pa.string())
    if kind == "datetime" and pa.types.is_timestamp(t) and t.tz is None:
        return arr.cast(target)
    if kind == "date" and pa.types.is_date(t):
        return arr.cast(target)
    return None


def _empty_to_null(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.nulls(len(arr), pa.string()), arr)


def _fold(arr: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_normalize(arr, "NFKC"), _SPACE, "")


def _text(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    s = pc.utf8_trim_whitespace(pc.utf8_normalize(arr, "NFKC"))
    s = pc.replace_substring_regex(s, _SPACE + "+", " ")
    return _empty_to_null(s), pc.is_valid(arr)


def _code(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    return _empty_to_null(_fold(arr)), pc.is_valid(arr)


def _citizen_id(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Accept only well-formed 18-character IDs with a real birth date and a correct check character."""
    s = _empty_to_null(pc.utf8_upper(_fold(arr)))
    shaped = pc.fill_null(pc.match_substring_regex(s, r"^\d{17}[\dX]$"), False)
    ok = shaped.to_numpy(zero_copy_only=False).copy()
    idx = np.flatnonzero(ok)
    if len(idx):
        ids = pc.take(s, pa.array(idx))
        m = np.frombuffer("".join(ids.to_pylist()).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        digits = (m[:, :17] - 48).astype(np.int64)
        good_check = _CHECK[(digits @ _WEIGHTS) % 11] == m[:, 17]
        ok[idx] = good_check & _real_dates(pc.utf8_slice_codeunits(ids, 6, 14), "%Y%m%d")
    empty = pc.is_null(s).to_numpy(zero_copy_only=False)  # blank after folding: None, like the scalar
    return s, pa.array(ok | empty)


def _phone(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    s = pc.replace_substring_regex(pc.utf8_normalize(arr, "NFKC"), r"[\s\p{Z}\-()（）]", "")
    s = pc.replace_substring_regex(s, r"^(\+86|0086)", "")
    ok = pc.match_substring_regex(s, r"^(1[3-9]\d{9}|0\d{9,11}|\d{7,8})$")
    return _empty_to_null(s), pc.or_(ok, pc.equal(s, ""))


@cache
def _traditional_class() -> str:
    """A regex class of every (CJK) character OpenCC's t2s tables would change."""
    return "[" + "".join(sorted(c for c in traditional_chars() if ord(c) > 0x2E7F)) + "]"


def _name(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    s = pc.replace_substring(pc.replace_substring(_fold(arr), "•", "·"), ".", "·")
    traditional = pc.fill_null(pc.match_substring_regex(s, _traditional_class()), False)
    return _empty_to_null(s), pc.invert(traditional)


def _parse(s: pa.Array, fmt: str) -> tuple[pa.Array, pa.Array]:
    """strptime that refuses what it would roll over (Arrow reads 2026-02-30 as March 2)."""
    parsed = pc.strptime(s, format=fmt, unit="us", error_is_null=True)
    same = pc.fill_null(pc.equal(pc.strftime(parsed.cast(pa.timestamp("s")), format=fmt), s), False)
    return parsed, same


def _real_dates(s: pa.Array, fmt: str) -> np.ndarray:
    parsed = pc.strptime(s, format=fmt, unit="s", error_is_null=True)
    return pc.fill_null(pc.equal(pc.strftime(parsed, format=fmt), s), False).to_numpy(zero_copy_only=False)


def _datetime(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    s = pc.utf8_trim_whitespace(arr)
    a, ok_a = _parse(s, "%Y-%m-%d %H:%M:%S")
    b, ok_b = _parse(s, "%Y-%m-%dT%H:%M:%S")
    return pc.if_else(ok_a, a, b), pc.or_(ok_a, ok_b)


def _date(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    s = pc.utf8_trim_whitespace(arr)
    a, ok_a = _parse(s, "%Y%m%d")
    b, ok_b = _parse(s, "%Y-%m-%d")
    return pc.if_else(ok_a, a, b).cast(pa.date32()), pc.or_(ok_a, ok_b)


_FAST = {"text": _text, "code": _code, "citizen_id": _citizen_id, "phone": _phone, "name": _name,
         "datetime": _datetime, "date": _date}


def today() -> dt.date:
    """The departments' date (Beijing), not the server's: a date written today there is not future."""
    return beijing_today()

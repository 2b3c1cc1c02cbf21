"""Control characters: text a department's export may carry that the store and printouts reject.

PostgreSQL refuses NUL in any text value, and XML (xlsx ledgers, Data Docs) refuses most C0
controls, so one such character in a unit name used to load and then fail every later resolve.
The gate treats them as a quarantine reason (``control_character``) on any text column.

Allowed everywhere: tab, line feed and carriage return. Free text (an address, a hazard
description, a case summary) legitimately holds line breaks from a quoted multi-line CSV field or
an Excel cell, and every normaliser already folds them (``text`` to one space; codes, names, IDs
and phones drop them), so they never reach the store. Refused: every other C0 control
(U+0000-U+0008, U+000B, U+000C, U+000E-U+001F), DEL and the C1 controls (U+007F-U+009F), and the
noncharacters U+FFFE/U+FFFF. In a column the contract keeps as JSON text (``normalize: keep``,
e.g. a case's event history) the same characters written as ``\\u0000``-style escapes are refused
too: they turn back into NUL when the JSON is read.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REASON = "control_character"
_CLASS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\x{fffe}\\x{ffff}"
_RAW = f"[{_CLASS}]"
_ESCAPED = r"(?i)\\u(00(0[0-8bcef]|1[0-9a-f]|7f|[89][0-9a-f])|fff[ef])"
_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def rows_with_control(arr: pa.Array, *, json_text: bool = False) -> np.ndarray:
    """Row indices of a raw column whose text holds a refused character (non-text columns: none)."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return np.empty(0, dtype=np.int64)
    hit = pc.match_substring_regex(arr, _RAW)
    if json_text:
        hit = pc.or_(hit, pc.match_substring_regex(arr, _ESCAPED))
    return np.flatnonzero(pc.fill_null(hit, False).to_numpy(zero_copy_only=False))


def first_control(text: str) -> str:
    """Where the first refused character is, for the reason's detail (``U+0000 at character 5``)."""
    m = _PY.search(text)
    if m:
        return f"U+{ord(m[0]):04X} at character {m.start() + 1}"
    m = re.search(_ESCAPED.replace("(?i)", ""), text, re.IGNORECASE)
    return f"escaped {m[0]} at character {m.start() + 1}" if m else "control character"


def visible(text: str) -> str:
    """The text with each refused character written as an escape, safe to store and print."""
    return _PY.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)

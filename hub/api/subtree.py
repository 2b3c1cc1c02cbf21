"""A grid's subtree as a range of codes, so every "in this grid" filter is one index range scan.

Division codes nest by prefix: a township's villages share its first 9 digits, a village's groups
start with its 12 digits. So the subtree of a grid is every code in ``[prefix, successor(prefix))``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import InstrumentedAttribute


@dataclass(frozen=True)
class CodeRange:
    lo: str
    hi: str | None  # None: no upper bound (a prefix of all 9s)

    def contains(self, code: str | None) -> bool:
        return code is not None and code >= self.lo and (self.hi is None or code < self.hi)

    def within(self, other: CodeRange) -> bool:
        return self.lo >= other.lo and (other.hi is None or (self.hi is not None and self.hi <= other.hi))

    def clause(self, column: InstrumentedAttribute[str | None] | ColumnElement[str | None]) -> ColumnElement[bool]:
        if self.hi is None:
            return column >= self.lo
        return and_(column >= self.lo, column < self.hi)


def subtree_prefix(code: str, level: int | None) -> str:
    """Township (level 1, ``xxxxxxxxx000``): its 9 significant digits; any other grid: its full code."""
    if level == 1 and len(code) == 12 and code.endswith("000"):
        return code[:9]
    return code


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (digits carry)."""
    chars = list(prefix)
    for i in range(len(chars) - 1, -1, -1):
        if chars[i] == "9":
            chars[i] = "0"
            continue
        chars[i] = chr(ord(chars[i]) + 1)
        return "".join(chars[: i + 1])
    return None


def subtree(code: str, level: int | None) -> CodeRange:
    prefix = subtree_prefix(code, level)
    return CodeRange(prefix, _successor(prefix))


def intersect(requested: CodeRange | None, bound: CodeRange | None) -> CodeRange | None | bool:
    """The effective range; False when the requested grid is not inside the key's subtree."""
    if requested is None or bound is None:
        return requested or bound
    return requested if requested.within(bound) else False  # an ancestor of the key's grid is outside it


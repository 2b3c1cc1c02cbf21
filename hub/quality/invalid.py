"""The one error a normaliser or check raises for a value it cannot read, with its reason code.

Its own module so that every normaliser (``normalize``, ``identity``, ``geometry``) and the checks
depend on it, and on nothing of each other: data and imports flow one way.
"""

from __future__ import annotations


class Invalid(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

"""Domain checks a contract can name in ``quality[].implementation.check``.

A check sees one canonical value (and its row) and returns ``None`` when it passes or a short
detail when it fails. Checks are registered through the ``register_checks`` hook, so a plugin
can add its own; the core's come in through the built-in plugin (``hub.builtin``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CheckFn = Callable[[Any, dict[str, Any]], str | None]


@dataclass(frozen=True)
class DomainCheck:
    name: str
    description: str
    fn: CheckFn

    def __call__(self, value: Any, row: dict[str, Any]) -> str | None:
        if value is None:
            return None  # emptiness is the job of `required`
        return self.fn(value, row)


def _grid_code_format(value: Any, row: dict[str, Any]) -> str | None:
    return None if re.fullmatch(r"\d{12}|\d{15}", str(value)) else "not a 12- or 15-digit division code"


CORE_CHECKS = (
    DomainCheck("grid_code_format", "a 12-digit division code or a 15-digit group grid code", _grid_code_format),
)

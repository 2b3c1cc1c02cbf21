"""What can be checked before reading, checked before the first source syncs.

A sync that fails on a typo after an hour of reading the population registry wastes the hour, and
one that fails on a source that does not exist leaves a failed run for a source nobody has (shown
for ever in ``hub runs`` and ``/sources``). So before any run is started: the source is configured,
its connector installed, its keys known to the connector (``hub.config_keys``), its folders and
files there, its SQLite database there, and the environment variables it names set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hub.context import HubContext
from hub.errors import HubError


@dataclass(frozen=True)
class Problem:
    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def preflight(ctx: HubContext, names: list[str]) -> list[Problem]:
    """One problem per source that cannot start (at most one each: the first thing to fix)."""
    problems: list[Problem] = []
    for name in names:
        reason = _first_problem(ctx, name)
        if reason:
            problems.append(Problem(name, reason))
    return problems


def _first_problem(ctx: HubContext, name: str) -> str | None:
    try:
        spec, connector = ctx.source(name)  # unknown source, unknown connector, unknown keys
    except HubError as exc:
        return str(exc)
    declared = connector.options or {}
    for key in declared:
        value = spec.get(key)
        if value in (None, ""):
            continue
        if key == "path" or key.endswith("_path"):
            path = spec.path(key)
            if not path.exists():
                return f"{key} {path} does not exist"
        elif key == "url" or key.endswith("_url"):
            missing = _missing_sqlite_file(spec.url(key) if str(value).startswith("sqlite") else str(value))
            if missing:
                return f"{key}: SQLite database {missing} does not exist"
        elif key.endswith("_env") and not os.environ.get(str(value), "").strip():
            return f"environment variable {value} ({key}) is not set"
    return None


def _missing_sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or ":memory:" in url:
        return None
    path = Path(url[len(prefix):].split("?", 1)[0])
    return None if path.exists() else path

"""Crash injection for the conformance suite: a real SIGKILL at a named point of a real run.

``HUB_FAULT=extract:2`` kills the process after the second raw batch is written;
``HUB_FAULT=load`` kills it inside the load transaction, after every row is written but
before commit; ``HUB_FAULT=load:2`` kills it there after the second landing batch is written
(mid-load, while a large run's validator may still be at work). Unset in production, where
these are no-ops.
"""

from __future__ import annotations

import os
import signal

ENV = "HUB_FAULT"


def fault_point(stage: str) -> int | None:
    spec = os.environ.get(ENV, "")
    name, _, arg = spec.partition(":")
    if name != stage:
        return None
    return int(arg) if arg else 0


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)

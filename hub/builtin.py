"""The core's own plugin, registered through the ``hub`` entry-point group like any other."""

from __future__ import annotations

from collections.abc import Callable

from hub.plugins import hookimpl
from hub.quality.checks import CORE_CHECKS, DomainCheck


@hookimpl
def register_checks(register: Callable[[DomainCheck], None]) -> None:
    for check in CORE_CHECKS:
        register(check)

"""The county's rules for the township's work, read once from hub.yaml: calendar, categories, annex."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.config import AssessmentConfig
from hub.events.calendar import PACKAGED, WorkCalendar, calendar_for
from hub.township.categories import CategoryMap


@dataclass(frozen=True)
class TownshipRules:
    calendar: WorkCalendar = field(default_factory=lambda: PACKAGED)
    categories: CategoryMap = field(default_factory=CategoryMap)
    assessment: AssessmentConfig = field(default_factory=AssessmentConfig)

    @classmethod
    def from_config(cls, config: Any | None) -> TownshipRules:
        """Defaults (grid-work.md) when there is no hub.yaml (tests, an embedded API)."""
        if config is None:
            return cls()
        return cls(calendar=calendar_for(config), categories=CategoryMap.from_config(config),
                   assessment=getattr(config, "assessment", None) or AssessmentConfig())


def rules_of(request: Any) -> TownshipRules:
    """The API's rules, read once from the hub.yaml it was started with (``ApiSettings.config``)."""
    state = request.app.state.hub
    rules = getattr(state, "township_rules", None)
    if rules is None:
        rules = TownshipRules.from_config(getattr(state.settings, "config", None))
        state.township_rules = rules
    return rules

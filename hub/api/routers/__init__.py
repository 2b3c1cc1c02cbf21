"""One router per resource."""

from hub.api.routers import (
           assessment,
           buildings,
           changes,
           events,
           grids,
           health,
           households,
           organizations,
           persons,
           sources,
)

ROUTERS = [health.router, grids.router, persons.router, households.router, buildings.router,
           organizations.router, events.router, changes.router, sources.router, assessment.router]

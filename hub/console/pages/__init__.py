"""The console's pages, one router per page kind (steward work, grid office work)."""

from hub.console.pages import assessment, events, grids, quarantine, review, steward

ROUTERS = [steward.router, quarantine.router, review.router, grids.router, events.router]
if assessment.available():  # hub.township (the assessment figures) is there
    ROUTERS.append(assessment.router)

"""Response models, one module per resource."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator


def _as_utc(value: dt.datetime) -> dt.datetime:
    """The store keeps naive UTC; RFC 3339 (OpenAPI ``date-time``) needs the offset said."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcDateTime = Annotated[dt.datetime, AfterValidator(_as_utc)]

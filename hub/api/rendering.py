"""Pre-serialised JSON for hot routes: the handler builds plain data already shaped like its
``response_model`` (kept on the route for OpenAPI), so FastAPI's second validation pass is skipped."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.responses import Response

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is optional; stdlib json gives the same document
    orjson = None  # type: ignore[assignment]


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JsonBody(Response):
    """``application/json``; naive datetimes are the store's UTC and say so (``Z``), like UtcDateTime."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if orjson is not None:
            return orjson.dumps(content, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
        return json.dumps(content, default=_default, ensure_ascii=False, separators=(",", ":")).encode()

"""/health: no key needed; says whether the store answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hub.api.deps import state_of
from hub.api.problems import PROBLEM_MEDIA, Problem
from hub.api.schemas.feeds import Health

router = APIRouter(tags=["health"])
DOWN = {503: {"description": "the store is unreachable",
              "content": {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}}}}


@router.get("/health", response_model=Health, responses=DOWN, summary="Liveness and database reachability")
def health(request: Request) -> Health | JSONResponse:
    try:
        with state_of(request).sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        body = Problem(title="Service Unavailable", status=503,
                       detail=f"database unreachable: {type(exc).__name__}", instance="/health")
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503, media_type=PROBLEM_MEDIA)
    return Health(status="ok", database="ok")

"""Every error as RFC 9457 ``application/problem+json``, and an OpenAPI that says so."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA = "application/problem+json"
ERROR_STATUSES = (400, 401, 403, 404, 429)


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class ApiProblem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, title: str | None = None,
                 headers: dict[str, str] | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.detail, self.headers, self.errors = status, detail, headers, errors
        self.title = title or HTTPStatus(status).phrase


def problem_response(request: Request, status: int, title: str, detail: str | None = None,
                     headers: dict[str, str] | None = None,
                     errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, instance=request.url.path, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers,
                        media_type=PROBLEM_MEDIA)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, never the offending value (it may be an ID someone pasted)."""
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, exc.headers, exc.errors)

    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem_response(request, exc.status_code, title, detail, getattr(exc, "headers", None))

    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        # 400, as for an unknown parameter or a date beyond the calendar: a client cannot tell a value out of
        # its declared range from any other bad request, and never needs to
        return problem_response(request, 400, "Invalid request parameters", detail, errors=errors)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, 500, "Internal Server Error", "the server failed; see its log")

    app.add_exception_handler(ApiProblem, on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_crash)


def problem_openapi(app: FastAPI) -> None:
    """Declare problem+json for every error status (FastAPI only knows its own 422 JSON shape)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        comps["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            comps.pop(name, None)
        ref = {"$ref": "#/components/schemas/Problem"}
        for path_item in schema.get("paths", {}).values():
            for op in path_item.values():
                responses = op.setdefault("responses", {})
                statuses = [s for s in ERROR_STATUSES if not (s in (401, 403, 429) and "security" not in op)]
                for status in statuses:
                    responses[str(status)] = {"description": HTTPStatus(status).phrase,
                                              "content": {PROBLEM_MEDIA: {"schema": ref}}}
                if "429" in responses:
                    responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                                   "description": "seconds to wait"}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

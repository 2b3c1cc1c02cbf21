"""``/docs``: Swagger UI from the vendored ``swagger-ui-dist`` (FastAPI's default loads it from a CDN,
which a closed county network cannot reach). ReDoc is not served: it too would come from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER = Path(__file__).parent / "static" / "vendor" / "swagger-ui"
ASSETS = "/docs-assets"


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs from local assets; the app must be created with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=str(SWAGGER)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} · docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # no validator badge (Swagger UI would otherwise ask validator.swagger.io about the spec)
            swagger_ui_parameters={"validatorUrl": None, "deepLinking": True})

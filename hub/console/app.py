"""The console as a FastAPI sub-app: templates, vendored static files, login, security headers.

Mounted by the read API at ``/console`` (``hub serve``). Pages are server-rendered (one Jinja2
template per page kind); htmx swaps fragments for filters, paging and actions. Every script, style
and image is served from ``static/`` and the Content-Security-Policy allows nothing else (the map's
tile server, when a county configures one, is the only other origin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.audit import client_of, note_of
from hub.api.ratelimit import AuthThrottle
from hub.console.auth import (
    COOKIE,
    LOGIN_COOKIE,
    ROLE_NAMES,
    authenticate,
    close_session,
    loopback,
    open_session,
    same_token,
)
from hub.console.deps import TEMPLATES, ConsoleState, LoginRequired, Refused, UserDep, console_of
from hub.console.display import beijing_now, local_time, sparkline
from hub.context import HubContext

STATIC = Path(__file__).parent / "static"
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
PREFIX = "/console"


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    state = console_of(request)
    user = getattr(request.state, "user", None)
    base = {"user": user, "assessment_available": state.assessment, "ledger_available": state.ledger, "role_name": ROLE_NAMES.get(user.role, "") if user else "", "prefix": PREFIX,
            "now": beijing_now().strftime("%Y-%m-%d %H:%M"), "partial": request.headers.get("hx-request") == "true"}
    return state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _csp(tile_url: str | None) -> str:
    img = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        img += f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1) if '{s}' in tile_url else parts.netloc}"
    return (f"default-src 'self'; img-src {img}; style-src 'self'; script-src 'self'; connect-src 'self'; "
            "font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


class SecurityHeaders:
    """CSP (no origin but ours), no framing, no referrer, no caching of pages with personal data."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app, self.csp = app, csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        static = path.startswith(f"{PREFIX}/static/")
        # GX's pages carry inline scripts and styles (and Vega compiles expressions): allowed there, but
        # still from no origin but ours
        csp = DOCS_CSP if path.startswith(f"{PREFIX}/data-docs/") else self.csp

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", csp.encode()), (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff")]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_console(ctx: HubContext, sessions: sessionmaker[Session]) -> FastAPI:
    from hub.console.pages import ROUTERS

    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(static=lambda p: f"{PREFIX}/static/{p}", quote=quote)
    templates.env.filters["dt"] = local_time
    templates.env.globals["sparkline"] = sparkline
    app = FastAPI(title="gridhub console", docs_url=None, redoc_url=None, openapi_url=None)
    from hub.console.pages.assessment import available

    app.state.console = ConsoleState(ctx=ctx, sessions=sessions, templates=templates, config=ctx.config.console,
                                     assessment=available(), ledger=available("hub.township.ledger"),
                                     login_throttle=AuthThrottle(ctx.config.api.auth_failures_allowed))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(SecurityHeaders, csp=_csp(ctx.config.console.tile_url))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = f"{PREFIX}/login?next={quote(request.url.path + ('?' + request.url.query if request.url.query else ''))}"
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return render(request, "error.html", status=exc.status, message=exc.message)

    @app.exception_handler(404)
    async def _missing(request: Request, _exc: Exception) -> Response:
        return render(request, "error.html", status=404, message="页面不存在")

    for router in ROUTERS:
        app.include_router(router)
    _login_routes(app)
    return app


def _cookie_secure(request: Request) -> bool | None:
    """Secure over https; over plain http only from loopback (or when the county opted in): None = refuse."""
    if request.url.scheme == "https":
        return True
    client = request.client.host if request.client else None
    if loopback(client) and loopback(request.url.hostname) or console_of(request).config.insecure_http:
        return False
    return None


def _login_routes(app: FastAPI) -> None:
    import secrets

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = f"{PREFIX}/") -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", login_csrf=token, next=_safe_next(next),
                          refused=_cookie_secure(request) is None)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path=PREFIX,
                            secure=bool(_cookie_secure(request)))
        return response

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
              csrf: Annotated[str, Form()], next: Annotated[str, Form()] = f"{PREFIX}/") -> Response:
        secure = _cookie_secure(request)
        if secure is None:
            return render(request, "login.html", status=403, login_csrf="", next=next, refused=True)
        if not same_token(csrf, request.cookies.get(LOGIN_COOKIE)):
            return render(request, "login.html", status=403, login_csrf="", next=next,
                          error="登录表单已过期，请刷新页面后重试")
        state = console_of(request)
        note_of(request).user_name = username.strip()[:64]
        address = client_of(request.scope) or "-"
        locked = state.login_throttle.locked(address)
        if locked is not None:  # too many wrong passwords from this address: the password is not even tried
            return _login_again(request, secure, next, 429, f"登录失败次数过多，请 {locked} 秒后再试",
                                {"Retry-After": str(locked)})
        with state.sessions() as session, session.begin():
            user = authenticate(session, username.strip(), password)
            token = open_session(session, user, state.config.session_hours) if user else None
        if token is None:
            state.login_throttle.failed(address)
            return _login_again(request, secure, next, 401, "用户名或密码错误")
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path=PREFIX, secure=secure,
                            max_age=int(state.config.session_hours * 3600))
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, user: UserDep) -> Response:
        form = await request.form()
        if not same_token(str(form.get("csrf") or ""), user.csrf):
            raise Refused(403, "CSRF 校验失败")
        with console_of(request).sessions() as session, session.begin():
            close_session(session, request.cookies.get(COOKIE, ""))
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    @app.get("/", include_in_schema=False)
    def home(user: UserDep) -> Response:
        return RedirectResponse(f"{PREFIX}/overview" if user.steward else f"{PREFIX}/map", status_code=303)


def _login_again(request: Request, secure: bool, next: str, status: int, error: str,
                 headers: dict[str, str] | None = None) -> Response:
    """The login form again with its error and a fresh CSRF token (the last one was spent)."""
    import secrets

    fresh = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, login_csrf=fresh, next=next, error=error)
    response.set_cookie(LOGIN_COOKIE, fresh, httponly=True, samesite="strict", path=PREFIX, secure=secure)
    response.headers.update(headers or {})
    return response


def _safe_next(target: str) -> str:
    """Only paths inside the console: never an open redirect to another host."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(PREFIX + "/") or "//" in target or "\\" in target:
        return f"{PREFIX}/"
    return target

"""The console's request dependencies: its state, a read session, the logged-in user, role and CSRF checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from hub.api.audit import note_of
from hub.api.ratelimit import AuthThrottle
from hub.config import ConsoleConfig
from hub.console.auth import COOKIE, ConsoleUserView, same_token, user_of
from hub.console.cache import StoreCache
from hub.context import HubContext
from hub.privacy import Vault

TEMPLATES = Path(__file__).parent / "templates"


class LoginRequired(Exception):
    """No live session: pages redirect to the login form (htmx requests get HX-Redirect)."""


class Refused(Exception):
    """A page the user may not open, or something outside their grid: rendered as a Chinese error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class ConsoleState:
    ctx: HubContext
    sessions: sessionmaker[Session]
    templates: Jinja2Templates
    config: ConsoleConfig
    assessment: bool = False  # the assessment page is there (hub.township installed)
    ledger: bool = False  # and the printable ledger
    cache: StoreCache = field(default_factory=StoreCache)
    rules: Any = None  # hub.township.rules.TownshipRules, read from hub.yaml on first use
    # failed logins per client address, as the API counts bad keys (hub.yaml api.auth_failures_allowed)
    login_throttle: AuthThrottle = field(default_factory=AuthThrottle)

    @property
    def vault(self) -> Vault:
        return self.ctx.vault


def console_of(request: Request) -> ConsoleState:
    return request.app.state.console


def get_session(request: Request) -> Iterator[Session]:
    with console_of(request).sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_user(request: Request, session: SessionDep) -> ConsoleUserView:
    user = user_of(session, request.cookies.get(COOKIE))
    if user is None:
        raise LoginRequired()
    note_of(request).user_name = user.username
    request.state.user = user
    return user


UserDep = Annotated[ConsoleUserView, Depends(current_user)]


def steward(user: UserDep) -> ConsoleUserView:
    if not user.steward:
        raise Refused(403, "此页面仅数据管理员可用")
    return user


def people_reader(user: UserDep) -> ConsoleUserView:
    if not user.principal.has("read:people"):
        raise Refused(403, "您的角色不能查看人员名单")
    return user


StewardDep = Annotated[ConsoleUserView, Depends(steward)]
PeopleDep = Annotated[ConsoleUserView, Depends(people_reader)]


async def checked_form(request: Request, user: UserDep) -> dict[str, Any]:
    """The posted form, after its CSRF token (field ``csrf`` or header ``X-CSRF-Token``) matched the session's."""
    form = await request.form()
    sent = form.get("csrf") or request.headers.get("x-csrf-token")
    if not same_token(str(sent) if sent else None, user.csrf):
        raise Refused(403, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")
    out: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        out[key] = values if len(values) > 1 or key.endswith("[]") or key == "ids" else values[0]
    return out


FormDep = Annotated[dict[str, Any], Depends(checked_form)]

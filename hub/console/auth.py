"""Console users, sessions and CSRF: who is asking, and what their role lets them see.

A user's role maps onto the read API's scopes, so the console shows a person exactly what a key with
those scopes would get: stewards everything (IDs and phones decrypted), grid users their grid's
subtree with IDs and phones masked, viewers the figures without personal lists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.api.keys import SCOPES, Principal
from hub.api.subtree import CodeRange, subtree
from hub.db.base import utcnow
from hub.db.models import ConsoleSession, ConsoleUser, GridCell
from hub.errors import HubError

ROLES: dict[str, frozenset[str]] = {
    "steward": frozenset(SCOPES),
    "grid": frozenset({"read:grids", "read:people", "read:events"}),
    "viewer": frozenset({"read:grids", "read:events"}),
}
ROLE_NAMES = {"steward": "数据管理员", "grid": "网格办", "viewer": "只读"}
COOKIE = "hub_console"
LOGIN_COOKIE = "hub_console_login"  # the login form's CSRF token, before there is a session
_hasher = PasswordHasher()


@dataclass(frozen=True)
class ConsoleUserView:
    """The logged-in user of one request."""

    id: int
    username: str
    display_name: str
    role: str
    grid_code: str | None
    grid_level: int | None
    csrf: str

    @property
    def principal(self) -> Principal:
        return Principal(id=0, name=f"console:{self.username}", scopes=ROLES[self.role], grid_code=self.grid_code)

    @property
    def bound(self) -> CodeRange | None:
        return None if self.grid_code is None else subtree(self.grid_code, self.grid_level)

    @property
    def steward(self) -> bool:
        return self.role == "steward"

    def sees(self, code: str | None) -> bool:
        return self.bound is None or self.bound.contains(code)


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise HubError("a console password needs at least 8 characters")
    return _hasher.hash(password)


def create_user(session: Session, username: str, password: str, role: str, grid_code: str | None = None,
                display_name: str | None = None) -> ConsoleUser:
    if role not in ROLES:
        raise HubError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").isalnum():
        raise HubError("a user name is 1-64 letters, digits, '-' or '_'")
    if role == "grid" and not grid_code:
        raise HubError("a grid user needs --grid CODE (the grid whose subtree they see)")
    if grid_code is not None and session.get(GridCell, grid_code) is None:
        raise HubError(f"no grid {grid_code} in the registry (see `hub grids`)")
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username)) is not None:
        raise HubError(f"a console user named {username!r} already exists")
    user = ConsoleUser(username=username, password_hash=hash_password(password), role=role, grid_code=grid_code,
                       display_name=display_name or username)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> ConsoleUser | None:
    """The user when the password matches (argon2, constant work even for unknown names)."""
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
    stored = user.password_hash if user is not None else _DUMMY
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


_DUMMY = _hasher.hash(secrets.token_hex(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: ConsoleUser, hours: float) -> str:
    """A fresh session (cookie value returned once; only its hash is stored); expired ones are swept."""
    now = utcnow()
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=token_hash(token), user_id=user.id, csrf=secrets.token_urlsafe(24),
                               created_at=now, expires_at=now + dt.timedelta(hours=hours)))
    return token


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token)))


def user_of(session: Session, token: str | None) -> ConsoleUserView | None:
    if not token:
        return None
    row = session.execute(
        select(ConsoleSession.csrf, ConsoleSession.expires_at, ConsoleUser)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == token_hash(token))).first()
    if row is None or row[1] < utcnow() or row[2].disabled_at is not None:
        return None
    user = row[2]
    level = session.scalar(select(GridCell.level).where(GridCell.code == user.grid_code)) if user.grid_code else None
    return ConsoleUserView(id=user.id, username=user.username, display_name=user.display_name or user.username,
                           role=user.role, grid_code=user.grid_code, grid_level=level, csrf=row[0])


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

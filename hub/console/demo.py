"""Demo logins for `hub demo`: a steward and a village grid office with fresh passwords each run."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select

from hub.console.auth import create_user, hash_password
from hub.context import HubContext
from hub.db.models import ConsoleSession, ConsoleUser, GridCell
from hub.db.session import transaction


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    grid: str | None
    grid_name: str | None


def demo_logins(ctx: HubContext) -> list[DemoLogin]:
    """(Re)set ``demo-steward`` and ``demo-grid`` (the first village's office): new passwords, old sessions closed."""
    out = []
    with transaction(ctx.db_url) as session:
        village = session.execute(select(GridCell.code, GridCell.name).where(GridCell.level == 2, GridCell.retired.is_(False))
                                  .order_by(GridCell.code).limit(1)).first()
        for username, role, grid in (("demo-steward", "steward", None), ("demo-grid", "grid", village[0] if village else None)):
            if role == "grid" and grid is None:
                continue
            password = secrets.token_urlsafe(9)
            user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
            if user is None:
                create_user(session, username, password, role, grid, "演示数据管理员" if role == "steward" else "演示网格办")
            else:
                user.password_hash, user.role, user.grid_code, user.disabled_at = hash_password(password), role, grid, None
                session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
            out.append(DemoLogin(username, password, role, grid, village[1] if grid and village else None))
    return out

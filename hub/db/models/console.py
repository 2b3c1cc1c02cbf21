"""The console's people: users with roles, their sessions, and every decision they take (undoable).

Passwords are kept only as argon2 hashes; a session is kept only as the SHA-256 of its cookie, so a
copy of the store lets nobody log in. ``console_action`` is the per-row record of what a steward did
(a bulk action writes one row per item), with the state before, so each can be undone on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, created_at


class ConsoleUser(Base):
    __tablename__ = "console_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # steward|grid|viewer
    grid_code: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[created_at]
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ConsoleSession(Base):
    __tablename__ = "console_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_user.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ConsoleAction(Base):
    __tablename__ = "console_action"
    __table_args__ = (Index("ix_console_action_target", "target", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[created_at]
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # dismiss|replay|accept|reject|defer
    target: Mapped[str] = mapped_column(String(16))  # quarantine|review
    target_id: Mapped[int] = mapped_column(Integer)
    batch: Mapped[str | None] = mapped_column(String(32), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    undone_by: Mapped[str | None] = mapped_column(String(64))

"""The special-population category at rest: encrypted like a citizen ID, compared and shown in clear."""

from __future__ import annotations

from typing import Any

from hub.privacy.vault import Vault, is_token


def category_of(vault: Vault, stored: str | None) -> str | None:
    """The clear category; a value that is no token was carried over by migration 0010 as written
    (``hub keys rotate-secret --keep-secret`` encrypts those)."""
    if stored is None or not is_token(stored):
        return stored
    return vault.decrypt(stored)


def special_stored(vault: Vault, row: dict[str, Any]) -> dict[str, Any]:
    """A special-status row as resolve builds it (``category``) to its stored form (``category_enc``)."""
    out = dict(row)
    out["category_enc"] = vault.encrypt(out.pop("category"))
    return out


def special_clear(vault: Vault, row: dict[str, Any]) -> dict[str, Any]:
    """A stored special-status row back to the form resolve builds, to compare like with like."""
    out = dict(row)
    out["category"] = category_of(vault, out.pop("category_enc"))
    return out

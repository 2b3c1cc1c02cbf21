"""References to other entities in a response, as a grid-bound key may see them.

Fetching an entity outside a key's subtree is already a 404; a reference to one inside a response it
may see (an organisation's responsible person, a dispute's party, a household in a building that
straddles grids) must not leak it either: it is shown as ``OUTSIDE`` with no id and no name.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.deps import key_range
from hub.api.keys import Principal
from hub.db.models import Organization, Person

OUTSIDE = "outside your grid"
_MODELS = {"person": Person, "organization": Organization}


def visible_ids(request: Request, session: Session, key: Principal, kind: str, ids: Iterable[str | None]) -> set[str]:
    """The referenced ids this key may see: all of them for an unbound key, else those whose entity
    lies in its subtree (an id with no entity left is not shown to a bound key)."""
    wanted = {i for i in ids if i}
    bound = key_range(request, session, key)
    if bound is None or not wanted:
        return wanted
    model = _MODELS[kind]
    return {eid for eid, code in session.execute(select(model.id, model.grid_code).where(model.id.in_(wanted)))
            if bound.contains(code)}


def shown(ref: str | None, visible: set[str]) -> str | None:
    """The id itself when visible, ``OUTSIDE`` when not, None when there is no reference."""
    if ref is None:
        return None
    return ref if ref in visible else OUTSIDE

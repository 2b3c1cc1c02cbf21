"""What a person's golden record says of its sources, masked by the key's scopes: the provenance of each
attribute, the linked source records, and the record the residence rests on. Both detail paths
(SQLite's one statement and the six statements elsewhere) build these parts with the same functions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.api.keys import Principal
from hub.api.masking import SENSITIVE_STREAMS, Masker
from hub.api.routers.person_record import LINKS_OF
from hub.events.clock import beijing_text


def provenance_out(prov: dict[str, Any], key: Principal, masker: Masker) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, entry in (prov or {}).items():
        if not isinstance(entry, dict):
            continue
        if (entry.get("source"), entry.get("stream")) in SENSITIVE_STREAMS and not key.has("read:sensitive"):
            continue
        out[str(attr)] = {k: masker.text(str(v)) if k == "source_key" and v is not None else
                          beijing_text(v) if k == "at" else v
                          for k, v in entry.items() if k in ("source", "stream", "source_key", "rule", "at")}
    return out


def links_out(session: Session, person_id: str, key: Principal, masker: Masker) -> list[dict[str, Any]]:
    return [{"source": r.source, "stream": r.stream, "source_key": masker.text(r.source_key) or "",
             "method": r.method, "score": r.score}
            for r in session.execute(LINKS_OF, {"pid": person_id})
            if (r.source, r.stream) not in SENSITIVE_STREAMS or key.has("read:sensitive")]


def residence_out(row: Any, key: Principal, masker: Masker) -> dict[str, Any] | None:
    """Where the person lives and the rule that says so; the record it rests on with read:quality."""
    basis = row.residence_basis if isinstance(row.residence_basis, dict) else None
    if basis is None:
        return None
    out: dict[str, Any] = {"grid_code": row.grid_code, "registered_grid_code": row.registered_grid_code,
                           "rule": basis.get("rule"), "at": beijing_text(basis.get("at")),
                           "source": None, "stream": None, "source_key": None}
    if key.has("read:quality") and basis.get("source"):
        out.update(source=basis.get("source"), stream=basis.get("stream"),
                   source_key=masker.text(str(basis.get("source_key") or "")) or None)
    return out

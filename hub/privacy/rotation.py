"""``hub keys rotate-secret``: every ciphertext in the store re-encrypted under a new secret (and, if
asked, another cipher) in ONE transaction, then the new key put in place.

What is re-encrypted: every ``*_enc`` column of every table (IDs, phones, quarantined raw rows, the
special-population category; a category still in clear from before migration 0010 is encrypted), every
``*_enc`` value inside JSON columns (source records' display copies and ``_source_key_enc``), and sealed
connector state. Blind indexes are keyed hashes, not ciphertexts: they are referenced by links,
provenance and source-key tokens across the store, so they stay under the index key of the secret they
were made with; the key file records it as a second line ``index:<secret>``.

Order of effects: the new key is written beside the old (``<key>.new``, 0600), the store is rewritten
and committed, then the new key replaces the old. A crash before the commit changes nothing; a crash
after it leaves the new key in ``<key>.new``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Table, bindparam, select
from sqlalchemy.engine import Connection

from hub.db.base import Base
from hub.db.session import transaction
from hub.errors import HubError
from hub.privacy.files import FILE_MODE
from hub.privacy.vault import INDEX_LINE, KEY_ENV, Vault, is_token, key_parts, new_secret

BATCH = 5_000
#: JSON columns that never hold a ciphertext (shapes, packed provenance, check statistics): not walked
PLAIN_DOCUMENTS = frozenset({"geometry", "provenance", "checks", "scopes", "person_ids"})


@dataclass
class RotationInfo:
    cipher: str
    values: int = 0
    by_column: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    key_file: str | None = None


class Rekeyer:
    """Moves one value from the old vault to the new, at the byte level (sealed state stays sealed)."""

    def __init__(self, old: Vault, new: Vault) -> None:
        self.old, self.new, self.count = old, new, 0

    def token(self, value: Any, *, clear_ok: bool = False) -> Any:
        if not isinstance(value, str) or not value:
            return value
        if not is_token(value):
            if not clear_ok:
                return value
            self.count += 1
            return self.new.encrypt(value)  # a legacy clear value in an encrypted column
        self.count += 1
        try:
            return self.new._seal_bytes(self.old._open_bytes(value))
        except Exception:
            raise HubError("cannot rotate: a stored value does not decrypt with the current secret key") from None

    def json(self, value: Any, sealed: bool = False) -> Any:
        """``*_enc`` entries of a JSON document (and, in stream state, every sealed string)."""
        if isinstance(value, dict):
            return {k: self.token(v) if isinstance(v, str) and (k.endswith("_enc") or sealed and is_token(v))
                    else self.json(v, sealed) for k, v in value.items()}
        if isinstance(value, list):
            return [self.token(v) if sealed and isinstance(v, str) and is_token(v) else self.json(v, sealed)
                    for v in value]
        return value


def _targets(table: Table) -> tuple[list[Any], list[Any]]:
    enc = [c for c in table.c if c.name.endswith("_enc")]
    docs = [c for c in table.c if isinstance(c.type, JSON) and c.name not in PLAIN_DOCUMENTS]
    return enc, docs


def _rewrite(conn: Connection, table: Table, rekey: Rekeyer, info: RotationInfo) -> None:
    enc, docs = _targets(table)
    if not enc and not docs:
        return
    pk = list(table.primary_key.columns)
    sealed = table.name == "stream_state"
    before = rekey.count
    stmt = table.update().where(*[c == bindparam(f"pk_{c.name}") for c in pk])
    pending: list[dict[str, Any]] = []
    rows = conn.execute(select(*pk, *enc, *docs)).all()  # read all first: updating under an open cursor
    for row in rows:  # is not portable (SQLite)
        m = row._mapping
        values = {c.name: rekey.token(m[c.name], clear_ok=True) for c in enc}
        values |= {c.name: rekey.json(m[c.name], sealed) for c in docs}
        changed = {k: v for k, v in values.items() if v != m[k]}
        if changed:
            pending.append({**{f"pk_{c.name}": m[c.name] for c in pk}, **values})  # SET from the keys
        if len(pending) >= BATCH:
            conn.execute(stmt, pending)
            pending = []
    if pending:
        conn.execute(stmt, pending)
    if rekey.count > before:
        info.by_column[table.name] = rekey.count - before


def rotate(db_url: str, old_material: str, old_cipher: str, *, cipher: str, keep_secret: bool = False,
           new_material: str | None = None) -> tuple[str, RotationInfo]:
    """Re-encrypt the whole store in one transaction; returns the new key material and what moved."""
    import hub.db.models  # noqa: F401  (every table known to the metadata)

    start = time.perf_counter()
    if new_material is None:
        _, index = key_parts(old_material)
        new_material = old_material if keep_secret else f"{new_secret()}\n{INDEX_LINE}{index}"
    old, new = Vault(old_material, cipher=old_cipher), Vault(new_material, cipher=cipher)
    rekey, info = Rekeyer(old, new), RotationInfo(cipher=cipher)
    with transaction(db_url) as session:
        conn = session.connection()
        for table in Base.metadata.sorted_tables:
            _rewrite(conn, table, rekey, info)
    info.values, info.seconds = rekey.count, round(time.perf_counter() - start, 3)
    return new_material, info


def rotate_key_file(db_url: str, key_path: Path, old_cipher: str, *, cipher: str,
                    keep_secret: bool = False) -> RotationInfo:
    """``hub keys rotate-secret``: the key file's secret (not ``HUB_SECRET_KEY``, which the operator owns)."""
    if os.environ.get(KEY_ENV):
        raise HubError(f"the secret comes from {KEY_ENV}: rotate it where it is kept, or unset it to use "
                       f"the key file {key_path}")
    if not key_path.is_file():
        raise HubError(f"no key file {key_path} (run `hub init`)")
    old_material = key_path.read_text(encoding="utf-8")
    _, index = key_parts(old_material)
    material = old_material if keep_secret else f"{new_secret()}\n{INDEX_LINE}{index}\n"
    staged = key_path.with_name(key_path.name + ".new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as fh:
        fh.write(material)
    _, info = rotate(db_url, old_material, old_cipher, cipher=cipher, new_material=material)
    os.replace(staged, key_path)
    info.key_file = str(key_path)
    return info


def check_key_opens_store(url: str, vault: Vault) -> None:
    """Refuse to serve a store the configured secret cannot open (a key file from another install, a
    wrong ``HUB_SECRET_KEY``): one line at start-up, instead of a 500 on the first person read."""
    from hub.db.models import Person

    with transaction(url) as session:
        token = session.scalar(select(Person.citizen_id_enc).where(Person.citizen_id_enc.is_not(None)).limit(1))
    if token:
        vault.decrypt(token)  # ConfigError: "the secret key does not match this store"

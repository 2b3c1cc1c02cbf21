"""Key rotation and the SM4/SM3 cipher on SQLite and PostgreSQL: a store written with one cipher is read
after rotation to the other, in one transaction, blind indexes unchanged, the old key useless."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update

from hub.api.masking import decrypt_many
from hub.api.specimen import build_specimen
from hub.db.migrate import upgrade
from hub.db.models import Organization, Person, QuarantinedRow, SourceRecord, SpecialStatus, StreamState
from hub.db.session import get_engine, transaction
from hub.errors import ConfigError, HubError
from hub.privacy import Vault, key_parts, write_secret
from hub.privacy.rotation import rotate
from hub.privacy.sensitive import category_of

HUB = str(Path(sys.executable).with_name("hub"))


def _store(store_url: str, vault: Vault) -> None:
    """A specimen store plus what only a sync writes: a source record's display copies, sealed state,
    and a special-population category still in clear as migration 0010 carried it over."""
    upgrade(store_url)
    build_specimen(store_url, vault, residents=120)
    with transaction(store_url) as s:
        s.execute(insert(SourceRecord).values(
            source="civil-affairs", stream="低保对象", source_key="~" + (vault.blind_index("110105194912310021",
                                                                                          kind="source_key") or ""),
            content_hash="x", data={"name": "王芳", "citizen_id_bidx": vault.blind_index("110105194912310021"),
                                    "citizen_id_enc": vault.encrypt("110105194912310021"),
                                    "_source_key_enc": vault.encrypt("110105194912310021")},
            deleted=False, first_run_id="r1", last_run_id="r1"))
        s.execute(insert(StreamState).values(source="civil-affairs", stream="低保对象",
                                             state={"keys": vault.seal({"110105194912310021": "h1"}), "day": "2026-10-01"}))
        first = s.scalar(select(SpecialStatus.id).order_by(SpecialStatus.id).limit(1))
        s.execute(update(SpecialStatus).where(SpecialStatus.id == first).values(category_enc="community_correction"))


def _clear(store_url: str, vault: Vault) -> dict[str, object]:
    """Every encrypted value of the store, decrypted (the legacy clear category as it reads)."""
    with transaction(store_url) as s:
        out: dict[str, object] = {}
        for pid, cid, phone in s.execute(select(Person.id, Person.citizen_id_enc, Person.phone_enc)):
            out[f"person {pid}"] = (vault.decrypt(cid), vault.decrypt(phone))
        for oid, phone in s.execute(select(Organization.id, Organization.phone_enc)):
            out[f"org {oid}"] = vault.decrypt(phone)
        for qid, raw in s.execute(select(QuarantinedRow.id, QuarantinedRow.raw_enc)):
            out[f"quarantine {qid}"] = category_of(vault, raw)  # the specimen's placeholder "x" is no token
        for sid, cat in s.execute(select(SpecialStatus.id, SpecialStatus.category_enc)):
            out[f"special {sid}"] = category_of(vault, cat)
        data = s.scalar(select(SourceRecord.data).where(SourceRecord.source == "civil-affairs"))
        out["record"] = (vault.decrypt(data["citizen_id_enc"]), vault.decrypt(data["_source_key_enc"]),
                         data["citizen_id_bidx"])
        state = s.scalar(select(StreamState.state).where(StreamState.source == "civil-affairs"))
        out["state"] = (vault.unseal(state["keys"]), state["day"])
    return out


def _tokens(store_url: str) -> list[str]:
    with transaction(store_url) as s:
        return [t for col in (Person.citizen_id_enc, Person.phone_enc, Organization.phone_enc,
                              QuarantinedRow.raw_enc, SpecialStatus.category_enc)
                for t in s.scalars(select(col)) if t]


def test_a_store_written_with_one_cipher_reads_after_rotation_to_the_other(store_url: str) -> None:
    secret = "rotation-test-secret"
    aes = Vault(secret)
    _store(store_url, aes)
    before = _clear(store_url, aes)
    assert sum(1 for k in before if k.startswith("person")) >= 100
    assert all(t.startswith("2.") for t in _tokens(store_url) if t not in ("community_correction", "x"))

    material, info = rotate(store_url, secret, "aes-gcm-siv", cipher="sm4")
    sm4 = Vault(material, cipher="sm4")
    assert info.values >= 200 and key_parts(material)[0] != secret
    tokens = _tokens(store_url)
    assert tokens and all(t.startswith("3.") for t in tokens), "every value, the clear legacy category too"
    assert _clear(store_url, sm4) == before
    assert sm4.blind_index("110105194912310021") == aes.blind_index("110105194912310021")  # links still match
    with pytest.raises(ConfigError):
        aes.decrypt(tokens[0])  # the old key opens nothing any more
    page = tokens[:60]  # an API page decrypts SM4 tokens in its batch path too
    assert decrypt_many(sm4, page) == {t: sm4.decrypt(t) for t in page}

    back, _ = rotate(store_url, material, "sm4", cipher="aes-gcm-siv")
    assert all(t.startswith("2.") for t in _tokens(store_url))
    assert _clear(store_url, Vault(back)) == before


def test_rotation_is_one_transaction(store_url: str) -> None:
    """A value that does not decrypt stops the rotation before anything is written."""
    secret = "rotation-test-secret"
    vault = Vault(secret)
    _store(store_url, vault)
    with transaction(store_url) as s:
        last = s.scalar(select(Person.id).order_by(Person.id.desc()).limit(1))
        s.execute(update(Person).where(Person.id == last).values(phone_enc=Vault("another").encrypt("13800000000")))
    snapshot = _tokens(store_url)
    with pytest.raises(HubError, match="does not decrypt"):
        rotate(store_url, secret, "aes-gcm-siv", cipher="sm4")
    assert _tokens(store_url) == snapshot


def test_hub_keys_rotate_secret_replaces_the_key_file(store_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_SECRET_KEY")
    key = tmp_path / "var" / "hub.key"
    secret = write_secret(key)
    _store(store_url, Vault(secret))
    before = _clear(store_url, Vault(secret))
    get_engine(store_url).dispose()
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(f"database: {store_url}\nlanding: var/landing\nsecret_key_file: var/hub.key\ncipher: sm4\n",
                   encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "HUB_SECRET_KEY"} | {"HUB_CONFIG": str(cfg)}
    done = subprocess.run([HUB, "keys", "rotate-secret"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "re-encrypted" in done.stdout and "restart" in done.stderr
    material = key.read_text(encoding="utf-8")
    assert key_parts(material)[0] != secret and key_parts(material)[1] == secret
    assert oct(key.stat().st_mode & 0o777) == "0o600" and not key.with_name("hub.key.new").exists()
    assert _clear(store_url, Vault(material, cipher="sm4")) == before
    assert all(t.startswith("3.") for t in _tokens(store_url))
    with get_engine(store_url).connect() as conn:  # the store holds no clear category any more
        assert not conn.execute(text("SELECT count(*) FROM special_status WHERE category_enc NOT LIKE '3.%'")).scalar()

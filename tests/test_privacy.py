import base64
import hashlib
import hmac
import json
import zlib

import pytest
from cryptography.fernet import Fernet

from hub.api.masking import decrypt_many
from hub.errors import ConfigError
from hub.privacy import TOKEN_PREFIX, Vault, mask_citizen_id, mask_phone


def test_blind_index_matches_equal_values_and_separates_kinds() -> None:
    vault = Vault("k1")
    assert vault.blind_index("110105194912310021") == vault.blind_index("110105194912310021")
    assert vault.blind_index("13812345678", kind="phone") != vault.blind_index("13812345678", kind="id")
    assert "110105" not in (vault.blind_index("110105194912310021") or "")
    assert vault.blind_index(None) is None and vault.blind_index("") is None


def test_blind_index_depends_on_the_install_secret() -> None:
    assert Vault("k1").blind_index("x") != Vault("k2").blind_index("x")


def test_encryption_round_trips_and_hides_the_value() -> None:
    vault = Vault("k1")
    token = vault.encrypt("110105194912310021")
    assert token and "110105194912310021" not in token
    assert vault.decrypt(token) == "110105194912310021"


def test_masks_follow_the_display_rule() -> None:
    assert mask_citizen_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"


def _earlier_version_token(secret: str, value: bytes) -> str:
    """A display copy as gridhub wrote it before AES-GCM-SIV: Fernet under the v1 derived key."""
    root = hashlib.sha256(secret.encode()).digest()
    key = hmac.new(root, b"gridhub/encryption/v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(value).decode()


def test_values_written_by_an_earlier_version_still_decrypt() -> None:
    vault = Vault("k1")
    old = _earlier_version_token("k1", b"13812345678")
    new = vault.encrypt("13812345678")
    assert new and new.startswith(TOKEN_PREFIX) and new != old and len(new) < len(old)
    assert vault.decrypt(old) == vault.decrypt(new) == "13812345678"
    state = _earlier_version_token("k1", zlib.compress(json.dumps({"cursor": ["2026-10-01", 7]}).encode()))
    assert vault.unseal(state) == {"cursor": ["2026-10-01", 7]}
    assert vault.unseal(vault.seal({"cursor": ["2026-10-01", 7]})) == {"cursor": ["2026-10-01", 7]}
    # an API page mixes both: each decrypts, and a token under another secret is refused
    ids = [vault.encrypt(f"1101051949123100{i:02d}") for i in range(3)]
    page = decrypt_many(vault, [old, *ids, old])
    assert page == {old: "13812345678", **{t: f"1101051949123100{i:02d}" for i, t in enumerate(ids)}}
    with pytest.raises(ConfigError, match="secret key does not match"):
        Vault("k2").decrypt(new)
    with pytest.raises(ConfigError, match="secret key does not match"):
        decrypt_many(Vault("k2"), [old])


def test_each_encryption_is_fresh() -> None:
    """Equal values encrypt differently: ciphertexts do not reveal which people share a phone."""
    vault = Vault("k1")
    assert len({vault.encrypt("13812345678") for _ in range(50)}) == 50

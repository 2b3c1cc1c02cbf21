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


def test_sm4_tokens_are_the_same_whether_made_by_gmssl_or_openssl() -> None:
    """The pure-Python reference (gmssl) and OpenSSL's SM4/SM3 read each other's tokens; tampering fails."""
    import hashlib as _hashlib

    from hub.privacy.ciphers import CipherError, Sm4Sm3, openssl_has_sm

    root = _hashlib.sha256(b"k1").digest()
    reference = Sm4Sm3(root, engine="gmssl")
    engines = [reference] + ([Sm4Sm3(root, engine="openssl")] if openssl_has_sm() else [])
    for maker in engines:
        for reader in engines:
            for value in (b"110105194912310021", b"", b"x" * 16, "社区矫正".encode()):
                assert reader.open(maker.seal(value)) == value
    token = reference.seal(b"13812345678")
    blob = bytearray(base64.urlsafe_b64decode(token[2:]))
    blob[20] ^= 1
    with pytest.raises(CipherError):
        engines[-1].open("3." + base64.urlsafe_b64encode(bytes(blob)).decode())
    vault = Vault("k1", cipher="sm4")
    sealed = vault.encrypt("110105194912310021")
    assert sealed and sealed.startswith("3.") and vault.decrypt(sealed) == "110105194912310021"
    assert Vault("k1").decrypt(sealed) == "110105194912310021"  # an AES-configured install reads SM4 tokens
    with pytest.raises(ConfigError, match="secret key does not match"):
        Vault("k2", cipher="sm4").decrypt(sealed)


def test_batched_blind_indexes_are_the_hmac_of_each_value() -> None:
    """The batch form hashes the key's pads once; its digests must stay those every store holds."""
    vault = Vault("batch-secret\nindex:earlier-secret")  # a rotated install: the index key is the earlier one
    values = ["110105194912310021", "13812345678", "王小明", "a" * 300, "", None]
    key = hmac.new(hashlib.sha256(b"earlier-secret").digest(), b"gridhub/blind-index/v1", hashlib.sha256).digest()
    for kind in ("id", "phone", "row"):
        expected = [hmac.new(key, f"{kind}:{v}".encode(), hashlib.sha256).hexdigest()[:32] if v else None
                    for v in values]
        assert vault.blind_indexes(values, kind=kind) == expected
        assert [vault.blind_index(v, kind=kind) for v in values] == expected


def test_batched_encryption_decrypts_to_each_value_under_fresh_nonces() -> None:
    vault = Vault("batch-secret")
    values = ["110105194912310021", None, "13812345678", "", "王小明", "110105194912310021"]
    tokens = vault.encrypt_many(values)
    assert [vault.decrypt(t) for t in tokens] == [v or None for v in values]
    assert tokens[0] != tokens[-1]  # the same value sealed twice differs (its own random nonce)
    assert all(t is None or t.startswith("2.") and "+" not in t and "/" not in t for t in tokens)

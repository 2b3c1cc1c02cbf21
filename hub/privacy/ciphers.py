"""Ciphers for the display copies, behind one interface so a county picks its suite in hub.yaml.

A token says which cipher wrote it (its prefix), so a store may hold both while it is being rotated
and every reader decrypts either; writes use the configured one. Two suites:

- ``aes-gcm-siv`` (default): AES-256-GCM-SIV, one C call a value, nonce-misuse resistant.
- ``sm4``: the 商用密码 suite 密评 reviewers expect of government systems: SM4-CBC with a random IV,
  authenticated by HMAC-SM3 over IV and ciphertext (encrypt-then-MAC), keys derived with HMAC-SM3.
  gmssl is pure Python: ~50x slower than AES here (measured in the README), fine for display copies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

_NONCE = 12
_IV, _TAG = 16, 32


class CipherError(ValueError):
    """The token is damaged or was written under another key."""


class Cipher(Protocol):
    name: str
    prefix: str  # every token this cipher writes starts so; "." is outside base64url

    def seal(self, data: bytes) -> str: ...

    def open(self, token: str) -> bytes: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text)
    except ValueError:
        raise CipherError("not a token") from None


class AesGcmSiv:
    name, prefix = "aes-gcm-siv", "2."

    def __init__(self, root: bytes) -> None:
        self._aead = AESGCMSIV(hmac.new(root, b"gridhub/encryption/v2", hashlib.sha256).digest())

    def seal(self, data: bytes) -> str:
        nonce = os.urandom(_NONCE)
        return self.prefix + _b64(nonce + self._aead.encrypt(nonce, data, None))

    def open(self, token: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        blob = _unb64(token[len(self.prefix):])
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], None)
        except (InvalidTag, ValueError):
            raise CipherError("AES-GCM-SIV tag mismatch") from None


def sm3(data: bytes) -> bytes:
    from gmssl import func
    from gmssl import sm3 as gm_sm3

    return bytes.fromhex(gm_sm3.sm3_hash(func.bytes_to_list(data)))


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """RFC 2104 HMAC over SM3 (block 64 bytes): hashlib has no SM3, so the construction is spelt out."""
    if len(key) > 64:
        key = sm3(key)
    key = key.ljust(64, b"\x00")
    inner = sm3(bytes(b ^ 0x36 for b in key) + data)
    return sm3(bytes(b ^ 0x5C for b in key) + inner)


class Sm4Sm3:
    name, prefix = "sm4", "3."

    def __init__(self, root: bytes) -> None:
        from gmssl import sm4

        self._enc_key = hmac_sm3(root, b"gridhub/sm4/encryption/v1")[:16]
        self._mac_key = hmac_sm3(root, b"gridhub/sm3/mac/v1")
        self._sm4 = sm4

    def _crypt(self, mode: int):  # type: ignore[no-untyped-def]
        c = self._sm4.CryptSM4()
        c.set_key(self._enc_key, mode)
        return c

    def seal(self, data: bytes) -> str:
        iv = os.urandom(_IV)
        body = iv + self._crypt(self._sm4.SM4_ENCRYPT).crypt_cbc(iv, data)
        return self.prefix + _b64(body + hmac_sm3(self._mac_key, body))

    def open(self, token: str) -> bytes:
        blob = _unb64(token[len(self.prefix):])
        body, tag = blob[:-_TAG], blob[-_TAG:]
        if len(body) < _IV + 16 or not hmac.compare_digest(hmac_sm3(self._mac_key, body), tag):
            raise CipherError("HMAC-SM3 mismatch")
        return self._crypt(self._sm4.SM4_DECRYPT).crypt_cbc(body[:_IV], body[_IV:])


#: the cipher suites ``cipher:`` in hub.yaml may name
CIPHERS: dict[str, type[AesGcmSiv] | type[Sm4Sm3]] = {AesGcmSiv.name: AesGcmSiv, Sm4Sm3.name: Sm4Sm3}

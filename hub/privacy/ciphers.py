"""Ciphers for the display copies, behind one interface so a county picks its suite in hub.yaml.

A token says which cipher wrote it (its prefix), so a store may hold both while it is being rotated
and every reader decrypts either; writes use the configured one. Two suites:

- ``aes-gcm-siv`` (default): AES-256-GCM-SIV, one C call a value, nonce-misuse resistant.
- ``sm4``: the 商用密码 suite 密评 reviewers expect of government systems: SM4-CBC with a random IV,
  authenticated by HMAC-SM3 over IV and ciphertext (encrypt-then-MAC), keys derived with HMAC-SM3.
  gmssl (pure Python) is the reference engine: ~10 ms a value, far too slow for a county's loads; where
  the platform's OpenSSL has SM4/SM3 (Debian's does) the same tokens are made in C (~20 µs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from binascii import b2a_base64
from collections.abc import Sequence
from functools import cache
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

_NONCE = 12
_IV, _TAG = 16, 32
ENGINE_ENV = "HUB_SM4_ENGINE"  # "gmssl" forces the pure-Python engine (benchmarks, a platform without SM in OpenSSL)


class CipherError(ValueError):
    """The token is damaged or was written under another key."""


class Cipher(Protocol):
    name: str
    prefix: str  # every token this cipher writes starts so; "." is outside base64url

    def seal(self, data: bytes) -> str: ...

    def seal_many(self, values: Sequence[bytes]) -> list[str]: ...

    def open(self, token: str) -> bytes: ...


_URLSAFE = bytes.maketrans(b"+/", b"-_")


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

    def seal_many(self, values: Sequence[bytes]) -> list[str]:
        """``seal`` of each value, the same tokens: the nonces drawn from the OS in one read (each still
        12 fresh random bytes of its own) and base64url done by ``binascii`` without the wrappers."""
        nonces, encrypt, prefix = os.urandom(_NONCE * len(values)), self._aead.encrypt, self.prefix.encode()
        out = []
        for i, data in enumerate(values):
            nonce = nonces[i * _NONCE:(i + 1) * _NONCE]
            out.append((prefix + b2a_base64(nonce + encrypt(nonce, data, None), newline=False)
                        .translate(_URLSAFE)).decode())
        return out

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
    """RFC 2104 HMAC over gmssl's SM3 (block 64 bytes): hashlib has no SM3, so the construction is spelt out."""
    if len(key) > 64:
        key = sm3(key)
    key = key.ljust(64, b"\x00")
    inner = sm3(bytes(b ^ 0x36 for b in key) + data)
    return sm3(bytes(b ^ 0x5C for b in key) + inner)


@cache
def openssl_has_sm() -> bool:
    """Whether the OpenSSL under ``cryptography`` provides SM4 and SM3 (Debian's does)."""
    try:
        from cryptography.hazmat.primitives import hashes, hmac
        from cryptography.hazmat.primitives.ciphers import Cipher as C
        from cryptography.hazmat.primitives.ciphers import algorithms, modes

        C(algorithms.SM4(bytes(16)), modes.CBC(bytes(16))).encryptor().update(bytes(16))
        hmac.HMAC(b"k", hashes.SM3()).finalize()
        return True
    except Exception:
        return False


class _GmsslEngine:
    """SM4-CBC (PKCS#7) and HMAC-SM3 in pure Python: gmssl, ~10 ms a value (README, bench/results/ciphers.md)."""

    def __init__(self, enc_key: bytes) -> None:
        from gmssl import sm4

        self._enc, self._dec = sm4.CryptSM4(), sm4.CryptSM4()
        self._enc.set_key(enc_key, sm4.SM4_ENCRYPT)
        self._dec.set_key(enc_key, sm4.SM4_DECRYPT)

    def encrypt(self, iv: bytes, data: bytes) -> bytes:
        return self._enc.crypt_cbc(iv, data)

    def decrypt(self, iv: bytes, data: bytes) -> bytes:
        return self._dec.crypt_cbc(iv, data)

    mac = staticmethod(hmac_sm3)


class _OpensslEngine:
    """The same algorithms, byte for byte, through OpenSSL (C): ~20 µs a value."""

    def __init__(self, enc_key: bytes) -> None:
        self._key = enc_key

    def encrypt(self, iv: bytes, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher as C
        from cryptography.hazmat.primitives.ciphers import algorithms, modes

        padder = padding.PKCS7(128).padder()
        enc = C(algorithms.SM4(self._key), modes.CBC(iv)).encryptor()
        return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()

    def decrypt(self, iv: bytes, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher as C
        from cryptography.hazmat.primitives.ciphers import algorithms, modes

        dec = C(algorithms.SM4(self._key), modes.CBC(iv)).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()
        except ValueError:
            raise CipherError("bad padding") from None

    @staticmethod
    def mac(key: bytes, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives import hmac as chmac

        h = chmac.HMAC(key, hashes.SM3())
        h.update(data)
        return h.finalize()


class Sm4Sm3:
    """SM4-CBC with a random IV, then HMAC-SM3 over IV and ciphertext; keys derived with HMAC-SM3.

    ``engine``: "gmssl" (pure Python, the reference), "openssl" (C, when the platform's OpenSSL has the
    SM suite) or "auto" (OpenSSL when it can). Both write and read the same tokens (tested).
    """

    name, prefix = "sm4", "3."

    def __init__(self, root: bytes, engine: str = "auto") -> None:
        engine = os.environ.get(ENGINE_ENV, engine) if engine == "auto" else engine
        use_openssl = engine == "openssl" or (engine == "auto" and openssl_has_sm())
        mac = _OpensslEngine.mac if use_openssl else hmac_sm3
        enc_key = mac(root, b"gridhub/sm4/encryption/v1")[:16]
        self._mac_key = mac(root, b"gridhub/sm3/mac/v1")
        self.engine = (_OpensslEngine if use_openssl else _GmsslEngine)(enc_key)
        self.engine_name = "openssl" if use_openssl else "gmssl"

    def seal_many(self, values: Sequence[bytes]) -> list[str]:
        return [self.seal(data) for data in values]

    def seal(self, data: bytes) -> str:
        iv = os.urandom(_IV)
        body = iv + self.engine.encrypt(iv, data)
        return self.prefix + _b64(body + self.engine.mac(self._mac_key, body))

    def open(self, token: str) -> bytes:
        blob = _unb64(token[len(self.prefix):])
        body, tag = blob[:-_TAG], blob[-_TAG:]
        if len(body) < _IV + 16 or not hmac.compare_digest(self.engine.mac(self._mac_key, body), tag):
            raise CipherError("HMAC-SM3 mismatch")
        return self.engine.decrypt(body[:_IV], body[_IV:])


#: the cipher suites ``cipher:`` in hub.yaml may name
CIPHERS: dict[str, type[AesGcmSiv] | type[Sm4Sm3]] = {AesGcmSiv.name: AesGcmSiv, Sm4Sm3.name: Sm4Sm3}

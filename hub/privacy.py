"""Citizen IDs and phones never rest in clear: a keyed blind index to match, a cipher to show.

The blind index is HMAC-SHA256 under a key derived from the install's secret, so equal
normalised values match across departments without the value being recoverable from the
store. Display copies are encrypted with AES-256-GCM-SIV under a second derived key: one
C call a value (Fernet built a cipher context and an HMAC per value, 9 µs against 2 µs, a fifth
of loading a county), and nonce-misuse resistant, so even a repeated random nonce over the
years of a county's daily loads would reveal only that two values are equal. Values written by
earlier versions (Fernet tokens) still decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import zlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

from hub.errors import ConfigError

KEY_ENV = "HUB_SECRET_KEY"
TOKEN_PREFIX = "2."  # "." is outside base64url: no Fernet token (always "gAAAAA…") starts so
_NONCE = 12


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def write_secret(path: Path) -> str:
    """Write a fresh secret readable only by its owner (``hub init``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret


def load_secret(path: Path, *, create: bool = False) -> str:
    """The install secret: env ``HUB_SECRET_KEY`` first, then the key file."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.strip()
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    if create:
        return write_secret(path)
    raise ConfigError(f"no secret key: set {KEY_ENV} or run `hub init` to create {path}")


class Vault:
    """Blind-indexes and encrypts PII under keys derived from one install secret."""

    def __init__(self, secret: str) -> None:
        root = hashlib.sha256(secret.encode()).digest()
        self._index_key = hmac.new(root, b"gridhub/blind-index/v1", hashlib.sha256).digest()
        fernet_key = hmac.new(root, b"gridhub/encryption/v1", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(fernet_key))  # reads what earlier versions wrote
        self._aead = AESGCMSIV(hmac.new(root, b"gridhub/encryption/v2", hashlib.sha256).digest())

    def blind_index(self, value: str | None, *, kind: str = "id") -> str | None:
        """Deterministic keyed digest; ``kind`` separates domains so an ID never matches a phone."""
        if not value:
            return None
        mac = hmac.new(self._index_key, f"{kind}:{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return self._seal_bytes(value.encode())

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            return self._open_bytes(token).decode()
        except (InvalidToken, InvalidTag, ValueError):
            raise ConfigError("cannot decrypt stored value: the secret key does not match this store") from None

    def _seal_bytes(self, data: bytes) -> str:
        nonce = os.urandom(_NONCE)
        return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, data, None)).decode()

    def _open_bytes(self, token: str) -> bytes:
        if not token.startswith(TOKEN_PREFIX):
            return self._fernet.decrypt(token.encode())
        blob = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX):])
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], None)

    def seal(self, value: Any) -> str:
        """Encrypt a JSON-able value (compressed): for connector state that must hold source keys."""
        blob = zlib.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), 6)
        return self._seal_bytes(blob)

    def unseal(self, token: str) -> Any:
        try:
            return json.loads(zlib.decompress(self._open_bytes(token)))
        except (InvalidToken, InvalidTag, ValueError):
            raise ConfigError("cannot unseal saved state: the secret key does not match this store") from None


def mask_citizen_id(value: str | None) -> str | None:
    """``110105194912310021`` -> ``110105********0021``: region and tail stay for a clerk's eye."""
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``."""
    if not value:
        return value
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]

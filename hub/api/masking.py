"""What a key may see of a person: clear IDs and phones only with ``read:pii``, masked otherwise."""

from __future__ import annotations

import re

from hub.api.keys import Principal
from hub.privacy import Vault, mask_citizen_id, mask_phone

# Source keys and provenance may hold an ID "as written" (civil-affairs rosters key on it) or a phone.
_ID_RUN = re.compile(r"[0-9０-９]{14,17}[0-9Xx０-９Ｘｘ]")
_PHONE_RUN = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
# Streams whose mere link to a person reveals special-population or police matters.
SENSITIVE_STREAMS = frozenset({("public-security", "special-persons"), ("public-security", "incidents")})


class Masker:
    """Decrypts for display and masks unless the key carries ``read:pii``."""

    def __init__(self, vault: Vault, principal: Principal) -> None:
        self.vault = vault
        self.clear = principal.has("read:pii")

    def citizen_id(self, token: str | None) -> str | None:
        value = self.vault.decrypt(token)
        return value if self.clear else mask_citizen_id(value)

    def phone(self, token: str | None) -> str | None:
        value = self.vault.decrypt(token)
        return value if self.clear else mask_phone(value)

    def text(self, value: str | None) -> str | None:
        """Free text that may embed an ID or phone (a source key, a provenance note)."""
        if value is None or self.clear:
            return value
        value = _ID_RUN.sub(lambda m: mask_citizen_id(m.group(0)) or "", value)
        return _PHONE_RUN.sub(lambda m: mask_phone(m.group(0)) or "", value)

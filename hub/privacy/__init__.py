"""Personal data at rest: blind index and ciphers (``vault``), private files (``files``), rotation."""

from hub.privacy.vault import (
    KEY_ENV,
    LEGACY_PREFIX,
    TOKEN_PREFIX,
    Vault,
    key_parts,
    load_secret,
    mask_citizen_id,
    mask_phone,
    new_secret,
    write_secret,
)

__all__ = ["KEY_ENV", "LEGACY_PREFIX", "TOKEN_PREFIX", "Vault", "key_parts", "load_secret", "mask_citizen_id",
           "mask_phone", "new_secret", "write_secret"]

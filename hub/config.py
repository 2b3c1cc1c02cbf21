"""hub.yaml: one validated file saying where the store, the landing zone and the sources are.

Relative paths (and relative ``sqlite:///`` URLs) are resolved against the folder holding the
config file, so a county folder can be moved or synthesised anywhere and still work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigError

DEFAULT_CONFIG = Path("hub.yaml")


class SourceConfig(BaseModel):
    """One configured department system; connector-specific keys are kept as extras."""

    model_config = ConfigDict(extra="allow")

    connector: str
    enabled: bool = True

    def options(self) -> dict[str, Any]:
        """Connector-specific settings (everything but the keys the hub itself reads)."""
        return dict(self.model_extra or {})


class ApiConfig(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    rate_limit_per_minute: int = 600


class HubConfig(BaseSettings):
    """The validated hub.yaml. Environment variables ``HUB_DATABASE``, ``HUB_LANDING`` override."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="allow")

    database: str = "sqlite:///var/hub.db"
    landing: str = "var/landing"
    landing_keep_days: float = 7  # run folders (raw extracts, personal data) older than this are deleted
    secret_key_file: str = "var/hub.key"
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    api: ApiConfig = Field(default_factory=ApiConfig)
    base_dir: Path = Path(".")

    @property
    def landing_path(self) -> Path:
        return _resolve_path(self.landing, self.base_dir)

    @property
    def database_url(self) -> str:
        return _resolve_url(self.database, self.base_dir)

    @property
    def key_path(self) -> Path:
        return _resolve_path(self.secret_key_file, self.base_dir)

    def source(self, name: str) -> SourceConfig:
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ConfigError(f"unknown source {name!r} in config (configured: {known})") from None

    def resolve_path(self, value: str | os.PathLike[str]) -> Path:
        return _resolve_path(str(value), self.base_dir)

    def resolve_url(self, url: str) -> str:
        return _resolve_url(url, self.base_dir)


def _resolve_path(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def _resolve_url(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url


def load_config(path: str | os.PathLike[str] | None = None) -> HubConfig:
    """Read and validate hub.yaml; every problem is one ConfigError line naming the file."""
    cfg_path = Path(path) if path else DEFAULT_CONFIG
    if not cfg_path.is_file():
        raise ConfigError(f"config file not found: {cfg_path} (pass --config FILE or run `hub init`)")
    try:
        raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{cfg_path}{where}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{cfg_path}: expected a mapping at the top level")
    # Environment overrides win over the file (pydantic-settings gives init args priority).
    for key in ("database", "landing"):
        env = os.environ.get(f"HUB_{key.upper()}")
        if env:
            raw[key] = env
    try:
        return HubConfig(**raw, base_dir=cfg_path.resolve().parent)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{cfg_path}: {loc}: {first['msg']}") from None

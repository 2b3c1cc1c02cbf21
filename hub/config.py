"""hub.yaml: one validated file saying where the store, the landing zone and the sources are.

Relative paths (and relative ``sqlite:///`` URLs) are resolved against the folder holding the
config file, so a county folder can be moved or synthesised anywhere and still work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.config_keys import key_lines, unknown_keys, unknown_options, yaml_fields
from hub.errors import ConfigError
from hub.province.counties import county_of, qualified, valid_code

DEFAULT_CONFIG = Path("hub.yaml")


class SourceConfig(BaseModel):
    """One configured department system; connector-specific keys are kept as extras."""

    model_config = ConfigDict(extra="allow")

    connector: str
    enabled: bool = True
    schedule: str | None = "@hourly"  # its sync DAG's schedule (hub.orchestration); null = only when triggered

    def options(self) -> dict[str, Any]:
        """Connector-specific settings (everything but the keys the hub itself reads)."""
        return dict(self.model_extra or {})


class CountyConfig(BaseModel):
    """One county of a province store (``counties:`` in hub.yaml, keyed by its 6-digit division code).

    Its sources join the hub's as ``<code>.<name>`` (``130182.population``): every row they load
    carries the county's code, and resolve runs county by county (hub.province).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    sources: dict[str, SourceConfig] = Field(default_factory=dict)


class ApiConfig(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    rate_limit_per_minute: int = 600
    auth_failures_allowed: int = 10  # bad keys per client address in 10 minutes before 429 lockouts


LedgerCategory = Literal["党群组织", "经济财政", "综治司法", "社会事务", "人口计生", "劳动保障", "城区管理", "文教体育"]


class CalendarConfig(BaseModel):
    """County-supplied year schedules (YAML files, grid-work.md) used before chinesecalendar knows the year."""

    model_config = ConfigDict(extra="forbid")

    schedules: list[str] = Field(default_factory=list)


class LedgerConfig(BaseModel):
    """Overrides of the default mapping (hub.township.categories): kind -> {source category or "*": ledger category}."""

    model_config = ConfigDict(extra="forbid")

    categories: dict[str, dict[str, LedgerCategory]] = Field(default_factory=dict)


class AssessmentConfig(BaseModel):
    """The township's own assessment annex: composite weights, the ranking flag, the random check's share."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[Literal["closure_rate", "on_time_rate", "satisfaction", "passed_up_on_time",
                          "hazards_rectified_on_time", "inspection_coverage", "overdue_open"], float] = Field(
        default_factory=lambda: {"closure_rate": 0.3, "on_time_rate": 0.3, "satisfaction": 0.15,
                                 "hazards_rectified_on_time": 0.15, "inspection_coverage": 0.1})
    bottom_places: int = Field(2, ge=1)
    consecutive_quarters: int = Field(3, ge=2)
    sample_share: float = Field(0.05, gt=0, le=1)
    sample_min: int = Field(3, ge=1)


class ConsoleConfig(BaseModel):
    """The web console (hub/console): the map's tile layer, session length, plain-http policy."""

    model_config = ConfigDict(extra="forbid")

    tile_url: str | None = None  # e.g. "http://tiles.county.local/{z}/{x}/{y}.png"; none: the polygons are the map
    tile_attribution: str = ""
    session_hours: float = Field(10, gt=0)
    # Over plain http a session cookie is not Secure; allowed on loopback only unless this is set
    # (a county network should put TLS in front instead).
    insecure_http: bool = False


class HubConfig(BaseSettings):
    """The validated hub.yaml. Environment variables ``HUB_DATABASE``, ``HUB_LANDING`` override."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="allow")

    database: str = "sqlite:///var/hub.db"
    landing: str = "var/landing"
    landing_keep_days: float = 7  # run folders (raw extracts, personal data) older than this are deleted
    secret_key_file: str = "var/hub.key"
    cipher: Literal["aes-gcm-siv", "sm4"] = "aes-gcm-siv"  # display copies' cipher (hub.privacy.ciphers)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    counties: dict[str, CountyConfig] = Field(default_factory=dict)  # a province store: code -> its sources
    api: ApiConfig = Field(default_factory=ApiConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    assessment: AssessmentConfig = Field(default_factory=AssessmentConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    contracts: list[str] | str = Field(default_factory=list)  # folders of county contract overrides
    data_docs: str | None = None  # Great Expectations Data Docs folder (default: beside the landing zone)
    survivorship: dict[str, str | list[str]] = Field(default_factory=dict)  # golden-record rule per attribute
    resolve: dict[Literal["lower", "upper"], float] = Field(default_factory=dict)  # match-probability thresholds
    base_dir: Path = Path(".")  # the config file's folder (set by load_config, not a key of the file)
    _file: Path | None = PrivateAttr(default=None)
    _key_lines: dict[tuple[str, ...], int] = PrivateAttr(default_factory=dict)

    @field_validator("counties")
    @classmethod
    def _county_codes(cls, counties: dict[str, CountyConfig], info: ValidationInfo) -> dict[str, CountyConfig]:
        sources = info.data.get("sources") or {}
        for code, county in counties.items():
            if not valid_code(code):
                raise PydanticCustomError("county_code", f"{code!r} is not a county division code (six digits, "
                                          "not ending in 00)")
            for name in county.sources:
                if qualified(code, name) in sources:
                    raise PydanticCustomError("county_source", f"source {qualified(code, name)!r} is configured "
                                              "twice (under sources: and counties:)")
        return counties

    @model_validator(mode="after")
    def _county_sources(self) -> HubConfig:
        """Each county's sources join ``sources`` under their county-qualified names."""
        for code, county in self.counties.items():
            for name, spec in county.sources.items():
                self.sources[qualified(code, name)] = spec
        return self

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

    def check_options(self, name: str, declared: Iterable[str] | None) -> None:
        """A source's connector-specific keys against what its connector declares (None: it declares nothing)."""
        if declared is None:
            return
        spec = self.source(name)
        county = county_of(name)
        path = ("counties", county, "sources", name[len(county) + 1:]) if county in self.counties else ("sources", name)
        found = unknown_options(path, spec.options(), yaml_fields(SourceConfig), declared, self._key_lines)
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise ConfigError(found[0].message(self._file or DEFAULT_CONFIG, f" for connector {spec.connector!r}")
                              + more)

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
        text = cfg_path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{cfg_path}{where}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{cfg_path}: expected a mapping at the top level")
    lines = key_lines(text)
    unknown = unknown_keys(raw, HubConfig, lines, hidden=("base_dir",))
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(unknown[0].message(cfg_path) + more)
    # Environment overrides win over the file (pydantic-settings gives init args priority).
    for key in ("database", "landing"):
        env = os.environ.get(f"HUB_{key.upper()}")
        if env:
            raw[key] = env
    try:
        config = HubConfig(**raw, base_dir=cfg_path.resolve().parent)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        line = lines.get(tuple(str(p) for p in first["loc"]))
        raise ConfigError(f"{cfg_path}{f' line {line}' if line else ''}: {loc}: {first['msg']}") from None
    config._file, config._key_lines = cfg_path, lines
    return config

"""Everything a stage needs, built once from hub.yaml: config, plugins, contracts, the vault."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from hub.config import HubConfig, load_config
from hub.plugins import PluginHost, get_host

if TYPE_CHECKING:  # connectors (pyarrow), contracts and the vault load when a command first asks for them
    from hub.connector.base import Connector, SourceSpec
    from hub.contracts import ContractRegistry
    from hub.privacy import Vault

log = logging.getLogger(__name__)


@dataclass
class HubContext:
    config: HubConfig
    host: PluginHost
    #: the store's revisions when this context last brought it up to date (``hub sync --all`` asks per source)
    _store_revisions: set[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        from hub.privacy.files import private_process

        private_process()  # landing, store, Data Docs, exports: 0600/0700 whatever the caller's umask

    @classmethod
    def from_config(cls, path: str | Path | None = None, host: PluginHost | None = None) -> HubContext:
        ctx = cls(config=load_config(path), host=host or get_host())
        ctx.check_sources()
        return ctx

    def check_sources(self) -> None:
        """Every source's keys against its connector's declared options: a typo fails every command.

        A source naming an unknown connector is left to the command that uses it (``hub sync``'s
        preflight names it with the installed ones).
        """
        connectors = self.host.connectors()
        for name, cfg in self.config.sources.items():
            if cfg.connector in connectors:
                self.config.check_options(name, connectors[cfg.connector].options)

    @property
    def db_url(self) -> str:
        return self.config.database_url

    @property
    def landing(self) -> Path:
        return self.config.landing_path

    @cached_property
    def contracts(self) -> ContractRegistry:
        """Plugins' contracts first; the county's own folders (``contracts:`` in hub.yaml) override."""
        from hub.contracts import ContractRegistry

        extra = getattr(self.config, "contracts", None) or []
        if isinstance(extra, str):
            extra = [extra]
        return ContractRegistry([*self.host.contract_paths(), *(self.config.resolve_path(p) for p in extra)])

    @cached_property
    def vault(self) -> Vault:
        from hub.privacy import Vault, load_secret

        path = self.config.key_path
        existed = path.is_file()
        vault = Vault(load_secret(path, create=True), cipher=self.config.cipher)
        if not existed and path.is_file():
            log.info("created a new secret key at %s (keep it: the store's PII is unreadable without it)", path)
        return vault

    def ensure_store(self) -> None:
        """Bring the store to the migrations' head(s); asked again, one query confirms it is still there.

        Reading the migration scripts for their heads costs ~0.1 s, and a sync of six sources asks six
        times: after the first, a store still at the revisions it was left at needs nothing (a store
        replaced or downgraded meanwhile takes the full path again).
        """
        from hub.db.migrate import current_revisions, ensure_current

        if self._store_revisions is None or not self._store_still_current(current_revisions):
            ensure_current(self.db_url)
            self._store_revisions = current_revisions(self.db_url)
        self._restore_indexes()
        if self.config.counties:  # a province store: each county its partition (PostgreSQL)
            from hub.province.partitions import ensure_county_partitions

            ensure_county_partitions(self.db_url, self.config.counties)

    def _restore_indexes(self) -> None:
        """Create the model's indexes a SQLite store lacks: a resolve killed between its entity and places
        steps leaves some unbuilt (hub.db.bulk.indexes_deferred). One query of sqlite_master when none is."""
        if not self.db_url.startswith("sqlite"):
            return
        from hub.db import models  # noqa: F401  (every table on the metadata)
        from hub.db.base import Base
        from hub.db.bulk import missing_indexes
        from hub.db.session import get_engine

        engine = get_engine(self.db_url)
        with engine.connect() as connection:
            missing = missing_indexes(connection, Base.metadata.tables.values())
        if missing:
            log.warning("the store lacked %d indexes (an interrupted resolve): creating %s", len(missing),
                        ", ".join(ix.name or "" for ix in missing))
            with engine.begin() as connection:
                for ix in missing:
                    ix.create(connection, checkfirst=True)

    def _store_still_current(self, current_revisions: Callable[[str], set[str]]) -> bool:
        try:
            return current_revisions(self.db_url) == self._store_revisions
        except Exception:  # unreachable now: the full path reports it in its own words
            return False

    def source(self, name: str) -> tuple[SourceSpec, Connector]:
        from hub.connector.base import SourceSpec

        cfg = self.config.source(name)
        connector = self.host.connector(cfg.connector)
        self.config.check_options(name, connector.options)
        spec = SourceSpec(name=name, options=cfg.options(), base_dir=self.config.base_dir, vault=self.vault)
        return spec, connector

    def connector_name(self, source: str) -> str:
        return self.config.source(source).connector

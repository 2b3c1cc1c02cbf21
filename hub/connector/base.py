"""What a connector plugin implements.

A Connector knows one kind of department system: ``check`` proves it is reachable with the
configured credentials; ``streams`` lists what can be read. A Stream reads what changed
since a state and yields Arrow batches, each carrying the state reached after it. The hub
commits that state only after the run's load has committed, so a crash re-reads, never skips.

Reserved columns a stream may add to a batch (all optional):
- ``_op``: ``"upsert"`` (default) or ``"delete"`` — a tombstone (cancelled person, a roster leave).
- ``_reason``: why a tombstone happened (``死亡``, ``迁出``, ``left roster``).
- ``_unreadable``: non-null when the source row could not be parsed at all (a broken CSV line);
  the value says why, and the quality gate quarantines the row with that reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from hub.errors import ConfigError

OP_COLUMN = "_op"
REASON_COLUMN = "_reason"
UNREADABLE_COLUMN = "_unreadable"


@dataclass(frozen=True)
class SourceSpec:
    """A configured source as a connector sees it: its name, options and the config's folder."""

    name: str
    options: dict[str, Any]
    base_dir: Path = Path(".")
    vault: Any = field(default=None, repr=False, compare=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def require(self, key: str) -> Any:
        value = self.options.get(key)
        if value in (None, ""):
            raise ConfigError(f"source {self.name!r}: missing required setting {key!r}")
        return value

    def path(self, key: str = "path") -> Path:
        """A configured path, resolved against the config file's folder."""
        path = Path(str(self.require(key))).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def seal(self, value: Any) -> str:
        """Encrypt state that holds personal data (e.g. source keys that are citizen IDs).

        Stream state lives in the unified store, where IDs may not rest in clear.
        """
        if self.vault is None:
            raise ConfigError(f"source {self.name!r}: sealing state needs the hub's secret key (no vault given)")
        return str(self.vault.seal(value))

    def unseal(self, token: str) -> Any:
        if self.vault is None:
            raise ConfigError(f"source {self.name!r}: reading sealed state needs the hub's secret key")
        return self.vault.unseal(token)

    def url(self, key: str = "url") -> str:
        """A SQLAlchemy URL; a relative ``sqlite:///`` path is resolved like ``path``."""
        url = str(self.require(key))
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and ":memory:" not in url:
            return prefix + str((self.base_dir / url[len(prefix) :]).resolve())
        return url


@dataclass
class Batch:
    """Raw rows as the source gave them (column names as the vendor made them)."""

    records: pa.RecordBatch | pa.Table
    state: dict[str, Any] = field(default_factory=dict)


class Stream(ABC):
    """One table/sheet/endpoint/log of a department system."""

    #: stream name as in legacy-systems.md "Source keys" (e.g. ``persons``, ``低保对象``)
    name: str
    #: raw columns whose trimmed values, joined by ``|``, form the record's source_key
    primary_key: tuple[str, ...]
    #: the field incremental reads advance on (``gxsj``, ``updatedAt``, a folder name, a byte offset)
    cursor_field: str | None = None

    @abstractmethod
    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        """Yield raw batches changed since ``state`` (``{}`` = read everything)."""

    def columns(self) -> list[str]:
        """The raw columns this stream yields (``hub discover``); override when known up front."""
        return []


class Connector(ABC):
    """A kind of department system; one instance serves every source configured with it."""

    name: str
    description: str = ""
    #: the source keys it reads from hub.yaml beside the hub's own (key → what it sets); any other key
    #: in the source is an error naming it. None: undeclared (a plugin written before the check).
    options: ClassVar[Mapping[str, str] | None] = None

    @abstractmethod
    def check(self, source: SourceSpec) -> None:
        """Raise SourceError/ConfigError with one clear line when unreachable or misconfigured."""

    @abstractmethod
    def streams(self, source: SourceSpec) -> list[Stream]:
        """The streams this source offers."""

    def stream(self, source: SourceSpec, name: str) -> Stream:
        for stream in self.streams(source):
            if stream.name == name:
                return stream
        raise ConfigError(f"source {source.name!r} has no stream {name!r}")

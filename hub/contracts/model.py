"""Data contracts (ODCS v3.1.0) as the stages use them.

One file per source dataset, ``<source>.<stream>.odcs.yaml``, parsed with the
``open-data-contract-standard`` package. Our extensions sit where ODCS leaves room:

- property ``physicalName``: the raw column as the vendor named it (``sfzh``); ``name``: canonical.
- property ``customProperties``: ``normalize`` (citizen_id, phone, date, datetime, name, text,
  code, credit_code, number, integer, bool, enum) and ``severity`` overrides.
- property ``classification``: ``pii`` (blind-indexed + encrypted at load), ``sensitive``.
- ``quality[]`` of ``type: custom, engine: great-expectations``: checks the gate compiles.
- schema ``customProperties``: ``driftPolicy`` (``fail`` | ``warn``), ``entityType``.
- property ``customProperties``: ``identifying`` (true | false): whether the column identifies the
  record (legacy-systems.md "A bad field is not a bad record"). A failing check on an identifying
  column quarantines the whole record; on any other column the record loads with that field
  withheld and the field alone is quarantined. Default: the primary key and required columns
  identify, the rest do not; the key always identifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from pydantic import ValidationError

from hub.errors import ConfigError


@dataclass(frozen=True)
class Column:
    name: str
    raw: str
    logical_type: str = "string"
    required: bool = False
    primary_key: bool = False
    unique: bool = False
    classification: str | None = None
    normalize: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    identifying: bool = False

    @property
    def is_pii(self) -> bool:
        return (self.classification or "").lower() in {"pii", "restricted", "confidential"}


@dataclass(frozen=True)
class QualityRule:
    """One check the gate runs: a GX expectation or a registered domain check."""

    name: str
    check: str
    column: str | None
    severity: str = "error"  # error quarantines the row; warning flags and lets it through
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamContract:
    source: str
    stream: str
    path: Path
    columns: tuple[Column, ...]
    rules: tuple[QualityRule, ...]
    drift_policy: str = "fail"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def primary_key(self) -> list[Column]:
        return [c for c in self.columns if c.primary_key]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def raw_columns(self) -> list[str]:
        return [c.raw for c in self.columns]

    def identifies(self, name: str | None) -> bool:
        """Whether a failure on this column spoils the record: a column of the contract that is not
        identifying, and whose raw value feeds no identifying column either, is only a field."""
        col = next((c for c in self.columns if c.name == name), None)
        if col is None:
            return True  # the source key, an unreadable row, a whole-row check
        return any(c.identifying for c in self.columns if c.raw == col.raw)

    def twins(self, name: str) -> list[str]:
        """Columns read from the same raw column (``citizen_id`` and ``citizen_id_as_written``)."""
        raw = self.column(name).raw
        return [c.name for c in self.columns if c.raw == raw]


def _custom(props: list[Any] | None) -> dict[str, Any]:
    return {p.property: p.value for p in props or [] if p.property}


def parse_contract(path: Path) -> list[StreamContract]:
    """Every schema object of one ODCS file; errors name the file."""
    try:  # libyaml when present: the pure-Python loader was most of a resolve's fixed cost
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if not isinstance(data, dict):
            raise ValueError("the document is not a mapping")
        doc = OpenDataContractStandard(**data)
    except (ValidationError, ValueError, OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"contract {path}: not a valid ODCS v3 document ({str(exc).splitlines()[0]})") from None
    top = _custom(doc.customProperties)
    source = str(top.get("source") or path.name.split(".")[0])
    contracts: list[StreamContract] = []
    for schema in doc.schema_ or []:
        opts = _custom(schema.customProperties)
        columns: list[Column] = []
        rules: list[QualityRule] = []
        for prop in schema.properties or []:
            custom = _custom(prop.customProperties)
            identifying = _flag(custom.pop("identifying", None), default=bool(prop.required), where=(path, prop.name))
            col = Column(
                name=prop.name,
                raw=prop.physicalName or prop.name,
                logical_type=prop.logicalType or "string",
                required=bool(prop.required),
                primary_key=bool(prop.primaryKey),
                unique=bool(prop.unique),
                classification=prop.classification,
                normalize=custom.pop("normalize", None),
                options=custom,
                identifying=identifying or bool(prop.primaryKey),
            )
            columns.append(col)
            rules.extend(_rules(prop.quality, column=col.name))
        rules.extend(_rules(schema.quality, column=None))
        contracts.append(
            StreamContract(
                source=source,
                stream=str(opts.pop("stream", schema.physicalName or schema.name)),
                path=path,
                columns=tuple(columns),
                rules=tuple(rules),
                drift_policy=str(opts.pop("driftPolicy", "fail")),
                options=opts,
            )
        )
    return contracts


def _flag(value: Any, *, default: bool, where: tuple[Path, str]) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise ConfigError(f"contract {where[0]}: property {where[1]!r}: identifying must be true or false, not {value!r}")


def _rules(quality: list[Any] | None, column: str | None) -> list[QualityRule]:
    rules: list[QualityRule] = []
    for q in quality or []:
        impl = q.implementation if isinstance(q.implementation, dict) else {}
        check = impl.get("check") or impl.get("expectation") or q.rule or q.name
        if not check:
            continue
        rules.append(
            QualityRule(
                name=q.name or str(check),
                check=str(check),
                column=impl.get("column", column),
                severity=(q.severity or "error").lower(),
                kwargs=dict(impl.get("kwargs") or {}),
            )
        )
    return rules


class ContractRegistry:
    """All contracts from the repo's ``contracts/`` and from plugins' registered folders."""

    def __init__(self, folders: list[Path]) -> None:
        self._by_key: dict[tuple[str, str], StreamContract] = {}
        for folder in folders:
            for path in sorted(Path(folder).glob("*.odcs.yaml")):
                for contract in parse_contract(path):
                    self._by_key[(contract.source, contract.stream)] = contract

    def get(self, source_kind: str, stream: str) -> StreamContract:
        try:
            return self._by_key[(source_kind, stream)]
        except KeyError:
            raise ConfigError(f"no contract for {source_kind}.{stream} (expected contracts/{source_kind}.{stream}.odcs.yaml)") from None

    def find(self, source_kind: str, stream: str) -> StreamContract | None:
        return self._by_key.get((source_kind, stream))

    def all(self) -> list[StreamContract]:
        return list(self._by_key.values())

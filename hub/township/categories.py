"""The eight ledger categories (八大项) and the mapping from each department's own category to them.

Defaults are grid-work.md's table; a county overrides any entry under ``ledger.categories`` in
hub.yaml (``kind: {source category: ledger category}``, ``"*"`` for the rest of that kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LEDGER_CATEGORIES = ("党群组织", "经济财政", "综治司法", "社会事务", "人口计生", "劳动保障", "城区管理", "文教体育")

# kind of record -> {the department's category (or "*"): ledger category}
DEFAULT_MAPPING: dict[str, dict[str, str]] = {
    "dispute": {"土地山林": "经济财政", "劳资纠纷": "劳动保障", "物业纠纷": "城区管理", "*": "综治司法"},
    "incident": {"*": "综治司法"},
    "special_population": {"*": "综治司法"},
    "hazard": {"*": "城区管理"},
    "fire_unit": {"*": "城区管理"},
    "building": {"*": "城区管理"},
    "organization": {"*": "经济财政"},
    "employer": {"*": "劳动保障"},
    "household": {"*": "人口计生"},
    "person": {"*": "人口计生"},
    "floating": {"*": "人口计生"},
    "care": {"*": "社会事务"},
}

# what each kind of record is called on a printed ledger
KIND_LABELS = {"dispute": "矛盾纠纷", "incident": "警情", "special_population": "特殊人群", "hazard": "消防隐患",
               "fire_unit": "消防单位", "building": "房屋", "organization": "单位", "employer": "流动人口用工单位",
               "household": "户", "person": "人员", "floating": "流动人口", "care": "关爱对象"}


@dataclass(frozen=True)
class CategoryMap:
    """Looks up a record's ledger category; unknown kinds fall to 综治司法 only if configured, else None."""

    mapping: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_MAPPING)

    @classmethod
    def from_config(cls, config: Any | None) -> CategoryMap:
        overrides = getattr(getattr(config, "ledger", None), "categories", None) or {}
        merged = {kind: dict(rows) for kind, rows in DEFAULT_MAPPING.items()}
        for kind, rows in overrides.items():
            merged.setdefault(kind, {}).update(rows)
        return cls(merged)

    def of(self, kind: str, source_category: str | None = None) -> str | None:
        rows = self.mapping.get(kind) or {}
        if source_category is not None and source_category in rows:
            return rows[source_category]
        return rows.get("*")


def organization_categories(categories: CategoryMap, fire_category: str | None) -> list[str]:
    """An organisation is in the ledger as a unit with its credit code, and as a fire-safety unit when the
    fire-safety system lists it (``category`` is its 单位类别)."""
    out = [categories.of("organization")]
    if fire_category:
        out.append(categories.of("fire_unit", fire_category))
    return [c for c in dict.fromkeys(out) if c]

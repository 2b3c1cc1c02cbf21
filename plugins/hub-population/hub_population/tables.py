"""The vendor's two tables (legacy-systems.md §1), column names exactly as the vendor made them."""

from __future__ import annotations

from dataclasses import dataclass

CURSOR = "gxsj"  # 更新时间: second resolution, shared by many rows
CANCELLED_FLAG = "zxbz"  # 注销标志: '1' cancelled (rows are never deleted)


@dataclass(frozen=True)
class TableSpec:
    stream: str
    table: str
    key: str
    columns: tuple[str, ...]
    #: column holding why a row was cancelled (``死亡``, ``迁出``); households have none
    reason: str | None = None

    @property
    def essential(self) -> tuple[str, ...]:
        """Columns without which the stream cannot be read at all (key, cursor, tombstone flag)."""
        return (self.key, CURSOR, CANCELLED_FLAG)


HOUSEHOLDS = TableSpec(
    stream="households", table="t_rk_hu", key="hh",
    columns=("hh", "hzxm", "hzsfzh", "hjdz", "cjdm", "zh", "gxsj", "zxbz"),
)
PERSONS = TableSpec(
    stream="persons", table="t_rk_ry", key="ryid",
    columns=("ryid", "xm", "xbdm", "mzdm", "csrq", "sfzh", "hh", "yhzgx", "lxdh", "xzz", "gxsj", "zxbz", "zxyy"),
    reason="zxyy",
)
TABLES = (HOUSEHOLDS, PERSONS)

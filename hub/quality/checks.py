"""Domain checks a contract can name in ``quality[].implementation.check``.

A check sees one canonical value (and its row) and returns ``None`` when it passes, a short
detail when it fails, or an ``Invalid(reason, detail)`` when the failure has its own reason
code. Checks are registered through the ``register_checks`` hook, so a plugin can add its own;
the core's come in through the built-in plugin (``hub.builtin``).

``vector`` is an optional column-at-a-time form the gate runs inside Great Expectations (see
``hub.quality.expectations``): it gets the non-null values as a pandas Series, the whole
canonical batch, the ``CheckEnv`` (reference data such as the grid registry) and the rule's
kwargs, and returns a boolean Series (True passes). Without it the gate calls ``fn`` per value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from hub.events.clock import beijing_today
from hub.quality.invalid import Invalid

if TYPE_CHECKING:  # pandas loads when a check first runs: `hub runs`, `hub --help` and the API import this module
    import pandas as pd

CheckFn = Callable[[Any, dict[str, Any]], "str | Invalid | None"]
VectorFn = Callable[["pd.Series", "pd.DataFrame", "CheckEnv", dict[str, Any]], "pd.Series"]


@dataclass
class CheckEnv:
    """Reference data the checks may read; loaded lazily, once per validate run."""

    grid_codes_loader: Callable[[], set[str] | None] | None = None
    today: dt.date = field(default_factory=dt.date.today)
    notes: list[str] = field(default_factory=list)
    _grid_codes: set[str] | None = None
    _grid_loaded: bool = False

    @property
    def grid_codes(self) -> set[str] | None:
        """Codes of the loaded grid registry, or None when no registry is loaded yet."""
        if not self._grid_loaded:
            self._grid_codes = self.grid_codes_loader() if self.grid_codes_loader else None
            self._grid_loaded = True
        return self._grid_codes

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)


@dataclass(frozen=True)
class DomainCheck:
    name: str
    description: str
    fn: CheckFn
    vector: VectorFn | None = None
    #: the reason code a failure reports (``grid_code_known`` fails as ``grid_code_unknown``)
    reason: str | None = None

    @property
    def reason_code(self) -> str:
        return self.reason or self.name

    def __call__(self, value: Any, row: dict[str, Any]) -> str | Invalid | None:
        if value is None:
            return None  # emptiness is the job of `required`
        return self.fn(value, row)

    def mask(self, values: pd.Series, frame: pd.DataFrame, env: CheckEnv, kwargs: dict[str, Any]) -> pd.Series:
        """True where the (non-null) value passes."""
        import pandas as pd

        if self.vector is not None:
            return self.vector(values, frame, env, kwargs).astype(bool)
        rows = frame.loc[values.index]
        return pd.Series([self.fn(v, r) is None for v, r in zip(values, rows.to_dict("records"), strict=True)],
                         index=values.index, dtype=bool)


# ---- the core's checks -------------------------------------------------------------------------

_GRID_RE = r"^(\d{12}|\d{15})$"


def _grid_code_format(value: Any, row: dict[str, Any]) -> str | None:
    import re

    return None if re.fullmatch(_GRID_RE[1:-1], str(value)) else "not a 12- or 15-digit division code"


def _grid_code_format_v(values: pd.Series, frame: pd.DataFrame, env: CheckEnv, kw: dict[str, Any]) -> pd.Series:
    return values.astype(str).str.fullmatch(_GRID_RE[1:-1])


def _grid_code_known(value: Any, row: dict[str, Any]) -> str | None:
    return "not a grid of the grid registry"


def _grid_code_known_v(values: pd.Series, frame: pd.DataFrame, env: CheckEnv, kw: dict[str, Any]) -> pd.Series:
    import pandas as pd

    codes = env.grid_codes
    if codes is None:  # registry not loaded yet: say so once, quarantine nothing
        env.note("grid registry not loaded yet: grid codes were not checked against it")
        return pd.Series(True, index=values.index)
    return values.astype(str).isin(codes)


@cache
def _region_known(prefix: str) -> bool:
    """stdnum's division table: known when the 6 digits name a county (any period)."""
    from stdnum import numdb

    return any("county" in props for _, props in numdb.get("cn/loc").info(prefix))


def _citizen_id_region_known(value: Any, row: dict[str, Any]) -> str | None:
    return None if _region_known(str(value)[:6]) else "region code not in the division table"


def _citizen_id_region_known_v(values: pd.Series, frame: pd.DataFrame, env: CheckEnv,
                               kw: dict[str, Any]) -> pd.Series:
    prefixes = values.astype(str).str[:6]
    known = {p for p in prefixes.unique() if _region_known(p)}
    return prefixes.isin(known)


def _as_date(value: Any) -> dt.date | None:
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _birth_date_range(value: Any, row: dict[str, Any]) -> str | None:
    d = _as_date(value)
    if d is None:
        return "not a date"
    if d < dt.date(1900, 1, 1):
        return "before 1900"
    if d > beijing_today():
        return "in the future"
    return None


def _birth_date_range_v(values: pd.Series, frame: pd.DataFrame, env: CheckEnv, kw: dict[str, Any]) -> pd.Series:
    import pandas as pd

    d = pd.to_datetime(values, errors="coerce")
    return (d >= pd.Timestamp(1900, 1, 1)) & (d <= pd.Timestamp(env.today))


def _id_column(row_or_kwargs: dict[str, Any]) -> str:
    return str(row_or_kwargs.get("id_column") or "citizen_id")


def _birth_date_matches_id(value: Any, row: dict[str, Any]) -> str | None:
    cid = row.get("citizen_id")
    d = _as_date(value)
    if not cid or d is None or len(str(cid)) != 18:
        return None
    return None if str(cid)[6:14] == d.strftime("%Y%m%d") else "stated birth date differs from the ID's"


def _birth_date_matches_id_v(values: pd.Series, frame: pd.DataFrame, env: CheckEnv, kw: dict[str, Any]) -> pd.Series:
    import pandas as pd

    col = _id_column(kw)
    if col not in frame.columns:
        return pd.Series(True, index=values.index)
    ids = frame.loc[values.index, col]
    stated = pd.to_datetime(values, errors="coerce").dt.strftime("%Y%m%d")
    from_id = ids.astype("string").str[6:14]
    return ids.isna() | (ids.astype("string").str.len() != 18) | (from_id == stated).fillna(True)


def _credit_code(value: Any, row: dict[str, Any]) -> Invalid | None:
    from hub.quality.identity import credit_code

    try:
        credit_code(value)
    except Invalid as bad:
        return bad
    return None


CORE_CHECKS = (
    DomainCheck("grid_code_format", "a 12-digit division code or a 15-digit group grid code", _grid_code_format,
                _grid_code_format_v),
    DomainCheck("grid_code_known", "the division/grid code exists in the loaded grid registry", _grid_code_known,
                _grid_code_known_v, reason="grid_code_unknown"),
    DomainCheck("citizen_id_region_known", "the ID's 6-digit region code is a known division (soft)",
                _citizen_id_region_known, _citizen_id_region_known_v, reason="id_region_unknown"),
    DomainCheck("birth_date_range", "a birth date not in the future and not before 1900", _birth_date_range,
                _birth_date_range_v),
    DomainCheck("birth_date_matches_id", "the stated birth date equals the one inside the citizen ID",
                _birth_date_matches_id, _birth_date_matches_id_v),
    DomainCheck("credit_code", "a unified social credit code with a correct check character (GB 32100)",
                _credit_code, reason="credit_code_checksum"),
    DomainCheck("credit_code_checksum", "alias of credit_code", _credit_code, reason="credit_code_checksum"),
)

"""Noise profiles and the ways a clerk or an export tool mangles a clean value.

Each writer returns the text as the source will hold it plus what was done to it, so
the caller can record the fault (and, for hard faults, the quarantine reason) in truth/.
Details never carry a clear citizen ID.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass

from hub.synth import identity

FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@dataclass(frozen=True)
class NoiseProfile:
    """Rates are per record (of the records a quirk can apply to); flags are per run."""

    name: str = "default"
    id_15_digit: float = 0.15  # of population persons born before 1985
    id_lower_x: float = 0.4  # of IDs ending in X
    id_fullwidth: float = 0.005
    id_spaces: float = 0.01
    id_checksum: float = 0.005
    id_format: float = 0.002
    id_birth_date: float = 0.001
    name_traditional: float = 0.01
    name_spaces: float = 0.01
    rare_name: float = 0.002
    duplicate_person: float = 0.005
    birth_date_mismatch: float = 0.005
    csrq_dashed: float = 0.1
    excel_numeric_id: float = 0.01
    excel_date_variant: float = 0.3
    village_no_suffix: float = 0.3
    fire_date_variant: float = 0.4
    coords_blank: float = 0.1
    coords_swapped: float = 0.03
    grid_blank: float = 0.5
    grid_code_unknown: float = 0.005
    credit_code_checksum: float = 0.01
    credit_code_missing_small: float = 0.5
    date_format: float = 0.003
    required: float = 0.003
    excel_blank_rows: bool = True
    excel_sheet_missing: bool = True
    excel_extra_column: bool = True
    utf8_bom: bool = True
    redelivered_folder: bool = True
    torn_line: bool = True
    duplicate_seq: bool = True

    def scaled(self, name: str, factor: float) -> NoiseProfile:
        rates = {f.name: min(getattr(self, f.name) * factor, 0.9) for f in dataclasses.fields(self)
                 if f.type in ("float", float)}
        return dataclasses.replace(self, name=name, **rates)

    def silent(self) -> NoiseProfile:
        off = {f.name: (False if f.type in ("bool", bool) else 0.0) for f in dataclasses.fields(self)
               if f.name != "name"}
        return dataclasses.replace(self, name="none", **off)


PROFILES: dict[str, NoiseProfile] = {
    "default": NoiseProfile(),
    "none": NoiseProfile().silent(),
    "heavy": NoiseProfile().scaled("heavy", 4.0),
}


def profile(name: str) -> NoiseProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown noise profile {name!r}; choose one of {', '.join(sorted(PROFILES))}") from None


@dataclass(slots=True)
class Written:
    """A value as the source holds it, the faults injected, and the quarantine reason if any."""

    text: str
    faults: list[tuple[str, str]]
    quarantine: str | None = None


def write_id(rng: random.Random, id18: str, p: NoiseProfile, *, allow_15: bool = False,
             hard: bool = True) -> Written:
    """A citizen ID as typed into a source: maybe mistyped (hard), maybe only mis-formatted."""
    r = rng.random()
    if hard and r < p.id_checksum:
        wrong = rng.choice([c for c in "0123456789X" if c != id18[-1]])
        return Written(id18[:-1] + wrong, [("id_checksum", "check character replaced")], "id_checksum")
    r -= p.id_checksum
    if hard and r < p.id_format:
        pos = rng.randrange(6, 17)
        letter = rng.choice("OIlZS")
        return Written(id18[:pos] + letter + id18[pos + 1:], [("id_format", f"letter at position {pos + 1}")],
                       "id_format")
    r -= p.id_format
    if hard and r < p.id_birth_date:
        body = id18[:10] + rng.choice(["13", "00"]) + id18[12:17]
        return Written(body + identity.ric_check(body), [("id_birth_date", "impossible month in birth date")],
                       "id_birth_date")
    text, faults = id18, []
    if allow_15 and id18[6:10] < "1985" and rng.random() < p.id_15_digit:
        text = identity.to_15(id18)
        faults.append(("id_15_digit", "first-generation 15-digit number"))
    if text.endswith("X") and rng.random() < p.id_lower_x:
        text = text[:-1] + "x"
        faults.append(("id_lower_x", "lower-case check character"))
    if rng.random() < p.id_fullwidth:
        text = text.translate(FULLWIDTH)
        faults.append(("id_fullwidth", "full-width digits"))
    if rng.random() < p.id_spaces:
        cut = rng.choice([6, 14])
        text = rng.choice([f"{text[:cut]} {text[cut:]}", f" {text} ", f"{text} "])
        faults.append(("id_spaces", "spaces in ID"))
    return Written(text, faults)


_to_traditional = None


def traditional(name: str) -> str:
    global _to_traditional
    if _to_traditional is None:
        import opencc

        _to_traditional = opencc.OpenCC("s2t").convert
    return _to_traditional(name)


def write_name(rng: random.Random, name: str, p: NoiseProfile) -> Written:
    """A name as typed: sometimes in traditional characters, sometimes with stray spaces."""
    faults: list[tuple[str, str]] = []
    text = name
    if rng.random() < p.name_traditional:
        t = traditional(name)
        if t != name:
            text = t
            faults.append(("traditional_name", "traditional characters"))
    if rng.random() < p.name_spaces:
        text = rng.choice([f"{text[0]} {text[1:]}", f"{text} ", f" {text}"])
        faults.append(("name_spaces", "stray spaces in name"))
    return Written(text, faults)


def slash_date(d: dt.date) -> str:
    return f"{d.year}/{d.month}/{d.day}"


def write_csv_date(rng: random.Random, d: dt.date, p: NoiseProfile) -> Written:
    """Fire-safety style: 2026-03-05 normally, else 2026/3/5 or 20260305."""
    if rng.random() < p.fire_date_variant:
        if rng.random() < 0.5:
            return Written(slash_date(d), [("date_variant", "YYYY/M/D")])
        return Written(d.strftime("%Y%m%d"), [("date_variant", "YYYYMMDD")])
    return Written(d.isoformat(), [])


def excel_serial(d: dt.date) -> int:
    return (d - dt.date(1899, 12, 30)).days


def write_excel_date(rng: random.Random, d: dt.date, p: NoiseProfile) -> tuple[object, list[tuple[str, str]]]:
    """A roster date: a real date cell normally, else a serial number or free text."""
    if rng.random() < p.excel_date_variant:
        kind = rng.randrange(3)
        if kind == 0:
            return excel_serial(d), [("date_variant", "Excel serial number")]
        if kind == 1:
            return f"{d.year}.{d.month}.{d.day}", [("date_variant", "YYYY.M.D text")]
        return f"{d.year}年{d.month}月{d.day}日", [("date_variant", "YYYY年M月D日 text")]
    return dt.datetime.combine(d, dt.time()), []

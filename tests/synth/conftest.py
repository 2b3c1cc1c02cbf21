"""One small county generated once per session; tests read it back like a county would."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from stdnum.cn import ric

from hub.synth import generate

FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")


def classify_id(text: str) -> str | None:
    """Independent of hub.synth: the quarantine reason for an ID as written, or None if usable."""
    s = text.translate(FULLWIDTH).replace(" ", "").strip().upper()
    if re.fullmatch(r"\d{15}", s):
        body = s[:6] + "19" + s[6:]
        s = body + ric.calc_check_digit(body + "0")
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return "id_format"
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return "id_birth_date"
    if ric.calc_check_digit(s) != s[-1]:
        return "id_checksum"
    return None


def read_truth(out: Path, name: str) -> list[dict]:
    with (out / "truth" / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def id_reason():
    """The quarantine reason a correct hub gives an ID as written (computed without hub.synth)."""
    return classify_id


@pytest.fixture(scope="session")
def county(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, residents=2500, days=3)
    return out


@pytest.fixture(scope="session")
def heavy_county(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("heavy")
    generate(out, seed=3, residents=3000, days=2, noise="heavy")
    return out


@pytest.fixture(scope="session")
def truth(county):
    return {name: read_truth(county, f"{name}.csv") for name in ("entities", "quarantine", "faults", "grid_assignment")}


@pytest.fixture(scope="session")
def days_plan(county) -> dict:
    return json.loads((county / "truth" / "days.json").read_text(encoding="utf-8"))

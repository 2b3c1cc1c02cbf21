"""Probabilistic person linking with Splink 5 (DuckDB, offline) for mentions without a usable ID.

The model compares name (exact with term-frequency adjustment, pinyin, pinyin Jaro-Winkler),
birth date, gender, phone blind index (equality only: a keyed hash cannot be fuzzy-matched) and
village. m is learned from records that share a citizen ID (true matches by construction), u by
random sampling; the ID itself is never a comparison (it would double-count birth date and sex).
Unanchored mentions are scored *between* themselves and the entity profiles, and *within*
themselves (two mentions of one person, neither with an ID); profile-to-profile pairs are never
generated, so the cost grows with the unanchored mentions, not with the county.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

COLUMNS = ["unique_id", "name", "name_py", "birth_date", "gender", "phone", "village"]
# pypinyin's default reading of these characters is wrong when they are a surname
SURNAME_READINGS = {"曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu", "查": "zha", "朴": "piao",
                    "盖": "ge", "尉": "yu", "乐": "yue", "缪": "miao", "任": "ren", "华": "hua", "冼": "xian",
                    "覃": "qin", "万": "wan", "种": "chong", "繁": "po", "员": "yun", "谌": "chen", "秘": "bi"}


@lru_cache(maxsize=1)
def _reader() -> Any:
    """pypinyin, read one character at a time: its phrase dictionary (most of its import time, a fixed
    cost of every incremental resolve) is never consulted for a single character, so it is not loaded."""
    import os

    if "pypinyin" not in sys.modules:
        os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    from pypinyin import lazy_pinyin

    return lazy_pinyin


@lru_cache(maxsize=50_000)
def _char_pinyin(ch: str) -> str:
    return "".join(_reader()(ch, errors="ignore"))


@lru_cache(maxsize=200_000)
def pinyin(name: str | None) -> str | None:
    """Toneless pinyin of a name, read character by character, the surname read as a surname."""
    if not name:
        return None
    parts = [SURNAME_READINGS.get(name[0]) or _char_pinyin(name[0])] + [_char_pinyin(c) for c in name[1:]]
    return " ".join(p for p in parts if p) or None


def frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """A Splink input frame; missing values are real NULLs (never NaN strings)."""
    df = pd.DataFrame(list(rows), columns=[c for c in COLUMNS if c != "name_py"])
    df["name_py"] = [pinyin(n) if isinstance(n, str) else None for n in df["name"]]
    for col in COLUMNS:
        df[col] = df[col].astype("object").where(df[col].notna(), None)
    return df[COLUMNS]


def _settings(prior: float) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(output_column_name="name", comparison_levels=[
        cll.NullLevel("name"),
        cll.ExactMatchLevel("name").configure(tf_adjustment_column="name"),
        cll.ExactMatchLevel("name_py"),
        cll.JaroWinklerLevel("name_py", 0.9),
        cll.ElseLevel(),
    ])
    birth = cl.CustomComparison(output_column_name="birth_date", comparison_levels=[
        cll.NullLevel("birth_date"), cll.ExactMatchLevel("birth_date"),
        cll.DamerauLevenshteinLevel("birth_date", 1), cll.ElseLevel(),
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[name, birth, cl.ExactMatch("gender"), cl.ExactMatch("phone"),
                     cl.ExactMatch("village").configure(term_frequency_adjustments=True)],
        blocking_rules_to_generate_predictions=[block_on("name"), block_on("phone")],
        probability_two_random_records_match=prior,
        retain_intermediate_calculation_columns=False,
    )


def _db(tmp: Path):  # type: ignore[no-untyped-def]
    import duckdb
    from splink.backends.duckdb import DuckDBAPI

    con = duckdb.connect()
    con.execute(f"SET temp_directory='{tmp}'")
    con.execute("SET memory_limit='2GB'")
    con.execute("SET threads=2")
    return DuckDBAPI(connection=con)


def train(labelled: pd.DataFrame, labels: list[str], seed: int = 7) -> dict[str, Any]:
    """Train m (from records sharing a citizen ID) and u (random pairs); return the model as JSON."""
    from splink import Linker

    with tempfile.TemporaryDirectory(prefix="hub-splink-") as tmp:
        db = _db(Path(tmp))
        df = labelled.copy()
        df["label"] = labels
        linker = Linker(db.register(df, table_name="training"), _settings(1e-4), log_level=logging.WARNING)
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
        linker.training.estimate_m_from_label_column("label")
        model = linker.misc.save_model_to_json()
    return _floored(json.loads(json.dumps(model, default=str)))


def _floored(model: dict[str, Any]) -> dict[str, Any]:
    """Levels never seen in training get small m/u instead of none: no level may be certain proof."""
    for comp in model.get("comparisons", []):
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        for key, floor in (("m_probability", 0.005), ("u_probability", 1e-6)):
            values = [max(lvl.get(key) or 0.0, floor) for lvl in levels]
            total = sum(values)
            for lvl, value in zip(levels, values, strict=True):
                lvl[key] = value / total
    return model


def describe(model: dict[str, Any]) -> dict[str, list[tuple[str, float | None, float | None]]]:
    """Learned (level, m, u) per comparison, to check the model is sane."""
    out: dict[str, list[tuple[str, float | None, float | None]]] = {}
    for comp in model.get("comparisons", []):
        out[comp["output_column_name"]] = [
            (lvl.get("label_for_charts", ""), lvl.get("m_probability"), lvl.get("u_probability"))
            for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
    return out


def score(model: dict[str, Any], unanchored: pd.DataFrame, profiles: pd.DataFrame, population: int,
          names_tf: pd.DataFrame, threshold: float | None = None,
          chunk: tuple[int, int] | None = None) -> pd.DataFrame:
    """Scored pairs (unique_id_l, unique_id_r, match_probability): unanchored x profiles and within,
    at or above ``threshold`` (default ``THRESHOLD``: below it a pair can neither link nor be reviewed;
    0 keeps every blocked pair).

    ``chunk=(k, n)``: only the pairs whose left (unanchored) row falls in chunk ``k`` of ``n``; the
    chunks' pairs together are exactly the unchunked ones (tests/province/test_chunked_prediction.py).
    Splink's own ``predict_chunk`` splits ``predict()``, which would also compare profile with
    profile; ``predict_within`` cannot be split, so a chunk scores its rows *between* them and every
    unanchored row and keeps each unordered pair once: where its left id is the smaller, as
    ``predict_within`` orders them (the comparisons are symmetric, so the probability is the same).
    """
    threshold = THRESHOLD if threshold is None else threshold
    mine = unanchored
    if chunk is not None:
        mine = unanchored[chunk_of(unanchored["unique_id"], chunk[1]) == chunk[0]].reset_index(drop=True)
    if mine.empty:
        return _EMPTY.copy()
    with tempfile.TemporaryDirectory(prefix="hub-splink-") as tmp:
        db, linker = _linker(Path(tmp), model, unanchored, profiles, population, names_tf)
        left = db.register(mine, table_name="unanchored" if chunk is None else "unanchored_chunk")
        frames = []
        if not profiles.empty:
            frames.append(linker.inference.predict_between(left, db.register(profiles, table_name="profiles"),
                                                           threshold_match_probability=threshold).as_pandas_dataframe())
        if len(unanchored) > 1 and chunk is None:
            frames.append(linker.inference.predict_within(left, threshold_match_probability=threshold)
                          .as_pandas_dataframe())
        elif len(unanchored) > 1:
            within = linker.inference.predict_between(left, db.register(unanchored, table_name="unanchored"),
                                                      threshold_match_probability=threshold).as_pandas_dataframe()
            frames.append(within[within["unique_id_l"].astype(str) < within["unique_id_r"].astype(str)])
    return _pairs(frames)


def chunk_of(unique_ids: pd.Series, chunks: int) -> pd.Series:
    """The chunk (0..chunks-1) of each unanchored row: a stable hash of its id, the same in every process."""
    return unique_ids.map(lambda uid: zlib.crc32(str(uid).encode("utf-8")) % chunks)


def score_chunk(model: dict[str, Any], unanchored: pd.DataFrame, profiles: pd.DataFrame, population: int,
                names_tf: pd.DataFrame, chunk: int, chunks: int, threshold: float | None = None) -> pd.DataFrame:
    """``score`` of one chunk (``chunk`` of ``chunks``): the province's chunk tasks call it by this name."""
    return score(model, unanchored, profiles, population, names_tf, threshold, chunk=(chunk, chunks))


THRESHOLD = 0.01
_EMPTY = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_probability"])


def _linker(tmp: Path, model: dict[str, Any], unanchored: pd.DataFrame, profiles: pd.DataFrame, population: int,
            names_tf: pd.DataFrame) -> tuple[Any, Any]:
    """A DuckDB-backed linker with the model, the province's prior and the name/village frequencies.

    Built from every unanchored row and profile whichever chunk is scored: the village frequencies
    come from all of them, so a chunk weighs a village as the unchunked run does."""
    from splink import Linker

    settings = {k: v for k, v in model.items() if not k.startswith("_")}
    settings["probability_two_random_records_match"] = 1.0 / max(population, 1000)
    db = _db(tmp)
    right = profiles if not profiles.empty else unanchored.head(0)
    universe = pd.concat([unanchored, right], ignore_index=True)
    # the model's settings were checked when it was trained: validating them again asks DuckDB about the
    # input's columns (~0.1 s a linker, twice on a day that pulls in a matched person)
    linker = Linker(db.register(universe, table_name="universe"), settings, log_level=logging.WARNING,
                    validate_settings=False)
    linker.table_management.register_term_frequency_lookup(db.register(names_tf, table_name="tf_name_in"), "name")
    villages = universe["village"].dropna()
    vtf = villages.value_counts(normalize=True).rename_axis("village").reset_index(name="tf_village")
    if vtf.empty:
        vtf = pd.DataFrame({"village": ["-"], "tf_village": [1.0]})
    linker.table_management.register_term_frequency_lookup(db.register(vtf, table_name="tf_village_in"), "village")
    return db, linker


def no_pairs() -> pd.DataFrame:
    return _EMPTY.copy()


def _pairs(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _EMPTY.copy()
    pairs = pd.concat(frames, ignore_index=True)
    keep = [c for c in pairs.columns if c in ("unique_id_l", "unique_id_r", "match_probability")
            or c.startswith("gamma_")]
    return pairs[keep]


def name_tf(names: pd.Series) -> pd.DataFrame:
    """Term frequencies of names over every mention (common surnames+names weigh less)."""
    counts = names.dropna().value_counts(normalize=True)
    return counts.rename_axis("name").reset_index(name="tf_name")

"""A county's Splink prediction in chunks, each chunk a task of its own on any worker.

Scoring a county's person mentions that carry no usable citizen ID is the part of resolve that
grows past what one worker holds (the comparisons, not the records). Above ``chunk_rows``
unanchored mentions it is split in three steps, handing off through files in the landing zone:

1. ``resolve_county``: the county's resolve as usual; when its scoring is larger than one chunk,
   the scorer writes the scoring inputs (the province's model JSON, the unanchored rows, the
   profiles, the name frequencies) as Parquet to ``<landing>/_resolve/<county>/prediction/<key>/``
   and stops the resolve before it writes anything (its transaction rolls back);
2. ``score_chunk``: one chunk of the pairs (``probabilistic.score_chunk``), written as Parquet;
3. ``finish_county``: the county's resolve again; the scorer finds the inputs it staged (the same
   key: a hash of the inputs) and reads the chunks' pairs instead of scoring. Inputs that changed
   in between (a sync ran) are scored in place, so the result is always the unchunked one.

Small counties (one chunk) are scored in place in step 1 and steps 2-3 do nothing for them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from hub.context import HubContext
from hub.resolve.persons import probabilistic as splink_model
from hub.resolve.persons.linking import scored_by

CHUNK_ROWS = int(os.environ.get("HUB_SPLINK_CHUNK_ROWS", "200000"))
"""Unanchored mentions one worker scores (their pairs with every profile and with each other)."""
INPUTS = ("unanchored", "profiles", "names_tf")


class ScoringDeferred(Exception):
    """Raised inside a county's resolve to roll it back: its scoring is staged for chunk tasks."""

    def __init__(self, key: str, chunks: int) -> None:
        super().__init__(f"prediction {key} staged in {chunks} chunks")
        self.key, self.chunks = key, chunks


def resolve_county(ctx: HubContext, county: str, chunk_rows: int = CHUNK_ROWS,
                   chunks: int | None = None) -> list[dict[str, Any]]:
    """Resolve ``county`` (scoring in place), or stage its scoring; returns the chunk jobs ([] if none).

    ``chunks`` forces that many chunks whatever the size (to show a small county in chunks)."""
    from hub.province import resolve as by_county

    def stage(model: dict[str, Any], unanchored: pd.DataFrame, profiles: pd.DataFrame, population: int,
              names_tf: pd.DataFrame) -> pd.DataFrame:
        n = chunks or math.ceil(len(unanchored) / max(chunk_rows, 1))
        if n <= 1 or len(unanchored) < 2:
            return splink_model.score(model, unanchored, profiles, population, names_tf)
        key = fingerprint(model, unanchored, profiles, population, names_tf)
        folder = _folder(ctx, county, key)
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in zip(INPUTS, (unanchored, profiles, names_tf), strict=True):
            df.to_parquet(folder / f"{name}.parquet", index=False)
        (folder / "model.json").write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
        (folder / "staged.json").write_text(json.dumps({"population": population, "chunks": n}), "utf-8")
        raise ScoringDeferred(key, n)

    _clear(ctx, county)
    try:
        with scored_by(stage):
            by_county.resolve_county(ctx, county)
    except ScoringDeferred as deferred:
        return [{"county": county, "key": deferred.key, "chunk": k, "chunks": deferred.chunks}
                for k in range(deferred.chunks)]
    return []


def score_chunk(ctx: HubContext, county: str, key: str, chunk: int, chunks: int) -> dict[str, int]:
    """Score one chunk of a staged prediction; its pairs go to ``pairs-<chunk>.parquet`` beside the inputs."""
    folder = _folder(ctx, county, key)
    model = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    population = json.loads((folder / "staged.json").read_text(encoding="utf-8"))["population"]
    unanchored, profiles, names_tf = (_read(folder / f"{name}.parquet") for name in INPUTS)
    pairs = splink_model.score_chunk(model, unanchored, profiles, population, names_tf, chunk, chunks)
    tmp = folder / f"pairs-{chunk}.parquet.part"
    pairs.to_parquet(tmp, index=False)
    tmp.rename(folder / f"pairs-{chunk}.parquet")  # a retried task never leaves half a file
    return {"chunk": chunk, "pairs": len(pairs)}


def finish_county(ctx: HubContext, county: str) -> dict[str, int]:
    """Resolve a county whose scoring was staged, reading the chunks' pairs; nothing if none was staged."""
    from hub.province import resolve as by_county

    staged = _root(ctx, county)
    if not staged.is_dir() or not any(staged.iterdir()):
        return {}
    used: dict[str, int] = {"chunks_read": 0, "scored_in_place": 0}

    def read(model: dict[str, Any], unanchored: pd.DataFrame, profiles: pd.DataFrame, population: int,
             names_tf: pd.DataFrame) -> pd.DataFrame:
        folder = _folder(ctx, county, fingerprint(model, unanchored, profiles, population, names_tf))
        meta = folder / "staged.json"
        chunks = json.loads(meta.read_text(encoding="utf-8"))["chunks"] if meta.is_file() else 0
        files = [folder / f"pairs-{k}.parquet" for k in range(chunks)]
        if not chunks or not all(f.is_file() for f in files):
            used["scored_in_place"] += 1
            return splink_model.score(model, unanchored, profiles, population, names_tf)
        used["chunks_read"] += chunks
        frames = [_read(f) for f in files]
        frames = [f for f in frames if not f.empty]
        return pd.concat(frames, ignore_index=True) if frames else splink_model.no_pairs()

    with scored_by(read):
        counts = by_county.resolve_county(ctx, county)
    _clear(ctx, county)
    return {**counts, **used}


def fingerprint(model: dict[str, Any], unanchored: pd.DataFrame, profiles: pd.DataFrame, population: int,
                names_tf: pd.DataFrame) -> str:
    """A hash of everything that decides the pairs: the staged inputs are found again by it."""
    digest = hashlib.sha256(json.dumps([model, population], sort_keys=True, default=str).encode("utf-8"))
    for df in (unanchored, profiles, names_tf):
        digest.update(",".join(map(str, df.columns)).encode("utf-8"))
        digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:24]


def _read(path: Path) -> pd.DataFrame:
    """A staged frame as Splink was given it: object columns with real NULLs (pandas 3 reads strings
    as its string dtype with NaN, and NaN is not NULL to Splink)."""
    df = pd.read_parquet(path)
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype("object").where(df[col].notna(), None)
    return df


def _root(ctx: HubContext, county: str) -> Path:
    return ctx.landing / "_resolve" / county / "prediction"


def _folder(ctx: HubContext, county: str, key: str) -> Path:
    return _root(ctx, county) / key


def _clear(ctx: HubContext, county: str) -> None:
    shutil.rmtree(_root(ctx, county), ignore_errors=True)

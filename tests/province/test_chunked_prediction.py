"""A county's Splink prediction in chunks (each a task of its own) gives the unchunked pairs and links.

One synthetic county of 3,000 residents (the shared 300-resident province scores too few pairs
to show anything), resolved by county twice: scoring in place, and in three chunk tasks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hub.context import HubContext
from hub.resolve.crosswalk import export_links
from tests.province.conftest import SECRET, sync_province
from tests.province.test_county_resolve import _golden

CHUNKS = 3


def _pair_set(pairs: pd.DataFrame) -> set[tuple[str, str, float]]:
    """Unordered pairs with their probability (a pair's orientation carries no meaning)."""
    return {(min(str(a), str(b)), max(str(a), str(b)), round(float(p), 12))
            for a, b, p in pairs[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(index=False)}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-county province folder, its SQLite store loaded and not yet resolved."""
    from hub.synth.province import generate_province

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", SECRET)
        out = tmp_path_factory.mktemp("county")
        generate_province(out, counties=1, residents=3000, days=1)
        sync_province(out / "hub.yaml")
    return out


def _every_blocked_pair(ctx: HubContext, model: dict, population: int,
                        names_tf: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """A county's few unanchored mentions give few pairs: score its ID-carrying mentions as if they had
    none (half of them as profiles), every blocked pair whatever its probability, unchunked and in chunks."""
    from hub.db.session import transaction
    from hub.resolve.entities import _bidx
    from hub.resolve.persons import probabilistic as splink_model
    from hub.resolve.persons.linking import _row
    from hub.resolve.persons.records import PERSON, read_mentions, stream_plans

    with transaction(ctx.db_url) as session:
        persons = [m for m in read_mentions(session, stream_plans(ctx, session), blind_index=_bidx(ctx))
                   if m.etype == PERSON and m.name and not m.deleted]
    unanchored = splink_model.frame(_row(f"u:{i}", m) for i, m in enumerate(persons) if i % 2)
    profiles = splink_model.frame(_row(f"c:{i}", m) for i, m in enumerate(persons) if not i % 2)
    everything = splink_model.score(model, unanchored, profiles, population, names_tf, threshold=0.0)
    chunks = [splink_model.score_chunk(model, unanchored, profiles, population, names_tf, k, CHUNKS, threshold=0.0)
              for k in range(CHUNKS)]
    return everything, chunks


@pytest.fixture(scope="module")
def runs(county: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The loaded county resolved by county twice: scoring in place, and in 3 chunk tasks."""
    from hub.province import prediction
    from hub.province import resolve as by_county
    from hub.resolve.persons import probabilistic as splink_model

    province = county
    tmp = tmp_path_factory.mktemp("chunked")
    out: dict[str, object] = {"staged": {}, "finished": {}, "pairs": {}, "blocked": {}}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", SECRET)
        plain, chunked = tmp / "plain", tmp / "chunked"
        shutil.copytree(province, plain)
        shutil.copytree(province, chunked)
        ctx = HubContext.from_config(plain / "hub.yaml")
        by_county.prepare(ctx)
        for county in by_county.counties(ctx):
            by_county.resolve_county(ctx, county)
        by_county.link_movers(ctx)
        by_county.finish(ctx)

        ctx = HubContext.from_config(chunked / "hub.yaml")
        by_county.prepare(ctx)
        for county in by_county.counties(ctx):
            jobs = prediction.resolve_county(ctx, county, chunks=CHUNKS)
            out["staged"][county] = jobs  # type: ignore[index]
            for job in jobs:
                prediction.score_chunk(ctx, county, job["key"], job["chunk"], job["chunks"])
            if jobs:  # the pairs the chunk tasks wrote, beside what one unchunked prediction gives
                folder = ctx.landing / "_resolve" / county / "prediction" / jobs[0]["key"]
                inputs = [prediction._read(folder / f"{name}.parquet") for name in prediction.INPUTS]
                model = json.loads((folder / "model.json").read_text("utf-8"))
                population = json.loads((folder / "staged.json").read_text("utf-8"))["population"]
                whole = splink_model.score(model, inputs[0], inputs[1], population, inputs[2])
                parts = [pd.read_parquet(folder / f"pairs-{k}.parquet") for k in range(CHUNKS)]
                out["pairs"][county] = (whole, parts)  # type: ignore[index]
                out["blocked"][county] = _every_blocked_pair(ctx, model, population, inputs[2])  # type: ignore[index]
            out["finished"][county] = prediction.finish_county(ctx, county)  # type: ignore[index]
        by_county.link_movers(ctx)
        by_county.finish(ctx)
    out["plain"], out["chunked"] = plain, chunked
    return out


def test_every_county_is_staged_in_chunks_and_resolved_from_their_pairs(runs: dict[str, object]) -> None:
    staged, finished = runs["staged"], runs["finished"]
    assert set(staged) == {"130102"}  # type: ignore[arg-type]
    for county, jobs in staged.items():  # type: ignore[attr-defined]
        assert [(j["chunk"], j["chunks"]) for j in jobs] == [(0, 3), (1, 3), (2, 3)], county
        assert finished[county]["chunks_read"] == CHUNKS, finished  # type: ignore[index]
        assert finished[county]["scored_in_place"] == 0, finished  # type: ignore[index]
        assert finished[county]["person_created"] > 2500, finished  # type: ignore[index]
    # the staged inputs and pairs are removed once the county is written
    chunked: Path = runs["chunked"]  # type: ignore[assignment]
    assert not list((chunked / "var" / "landing" / "_resolve").glob("*/prediction/*"))


def test_the_chunks_pairs_are_exactly_the_unchunked_prediction(runs: dict[str, object]) -> None:
    assert runs["pairs"], "no county staged its prediction"
    for county, (whole, parts) in runs["pairs"].items():  # type: ignore[attr-defined]
        assert len(whole) >= 5, county  # the pairs above the threshold the chunk tasks wrote
        joined = pd.concat(parts, ignore_index=True)
        assert len(joined) == len(whole), county  # no pair scored twice, none missed
        assert _pair_set(joined) == _pair_set(whole), county
    for county, (everything, chunks) in runs["blocked"].items():  # type: ignore[attr-defined]
        assert len(everything) > 300, county  # every blocked pair: enough for the comparison to mean something
        assert all(len(c) for c in chunks), f"{county}: a chunk scored nothing"
        joined = pd.concat(chunks, ignore_index=True)
        assert len(joined) == len(everything), county
        assert _pair_set(joined) == _pair_set(everything), county


def test_chunked_resolve_gives_the_unchunked_crosswalk_and_golden_records(runs: dict[str, object],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    plain: Path = runs["plain"]  # type: ignore[assignment]
    chunked: Path = runs["chunked"]  # type: ignore[assignment]
    n = export_links(HubContext.from_config(plain / "hub.yaml"), plain / "links.csv")
    assert export_links(HubContext.from_config(chunked / "hub.yaml"), chunked / "links.csv") == n > 5000
    assert (chunked / "links.csv").read_text("utf-8") == (plain / "links.csv").read_text("utf-8")
    assert _golden(chunked) == _golden(plain)

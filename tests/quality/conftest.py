"""A small synthetic county shared by the quality tests, and contexts with their own store."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.context import HubContext
from hub.plugins import get_host

TOKEN = "quality-tests-token"
TOKEN_ENV = "QUALITY_TESTS_PS_TOKEN"


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hub.synth import generate

    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, residents=1500, days=2)
    return out


@pytest.fixture(scope="session")
def ps_url(county: Path) -> Iterator[str]:
    """The simulated public-security API over loopback (no throttling, no injected 503s)."""
    from hub.synth.server import start_in_thread

    url, stop = start_in_thread(county / "public-security", TOKEN, rate_limit_per_s=10_000, fail_rate=0.0)
    yield url
    stop()


def write_config(folder: Path, county: Path, *, ps_url: str = "http://127.0.0.1:9", extra: str = "") -> Path:
    """A hub.yaml over the county's sources with this folder's own store and landing zone."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "hub.yaml"
    config.write_text(f"""\
database: sqlite:///{folder / 'hub.db'}
landing: {folder / 'landing'}
sources:
  grid-registry:     {{connector: grid-registry, path: {county / 'grids.geojson'}}}
  population:        {{connector: population, url: "sqlite:///{county / 'population.db'}"}}
  civil-affairs:     {{connector: civil-affairs, path: {county / 'civil-affairs'}}}
  fire-safety:       {{connector: fire-safety, path: {county / 'fire-safety'}}}
  public-security:   {{connector: public-security, base_url: "{ps_url}", token_env: {TOKEN_ENV}}}
  dispute-mediation: {{connector: dispute-mediation, path: {county / 'dispute-mediation'}}}
{extra}""", encoding="utf-8")
    return config


def make_context(config: Path) -> HubContext:
    os.environ[TOKEN_ENV] = TOKEN
    ctx = HubContext.from_config(config, host=get_host())
    ctx.ensure_store()
    return ctx


def copy_source(county: Path, name: str, dest: Path) -> Path:
    target = dest / name
    if (county / name).is_dir():
        shutil.copytree(county / name, target)
    else:
        shutil.copy2(county / name, target)
    return target

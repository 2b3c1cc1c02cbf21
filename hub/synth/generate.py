"""Orchestrates one synthetic county: build the world, then write every source day by day."""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from hub.synth import noise as nz
from hub.synth import population
from hub.synth.changes import advance
from hub.synth.civil_affairs import CivilAffairs
from hub.synth.dispute import DisputeMediation
from hub.synth.fire_safety import FireSafety
from hub.synth.grids import build_grids, write_geojson
from hub.synth.movers import Identity, leaving, settle
from hub.synth.organisations import add_floating, build_organisations
from hub.synth.public_security import PublicSecurity
from hub.synth.separated import separate, write_record_places
from hub.synth.truth import Truth
from hub.synth.world import World

HUB_YAML = """\
database: sqlite:///var/hub.db
landing: var/landing
sources:
  grid-registry:     {{connector: grid-registry, path: grids.geojson}}
  population:        {{connector: population, url: "{population_url}"}}
  civil-affairs:     {{connector: civil-affairs, path: civil-affairs}}
  fire-safety:       {{connector: fire-safety, path: fire-safety}}
  public-security:   {{connector: public-security, base_url: "http://127.0.0.1:8765", token_env: PUBLIC_SECURITY_TOKEN}}
  dispute-mediation: {{connector: dispute-mediation, path: dispute-mediation}}
"""
OUTPUTS = ("grids.geojson", "population.db", "civil-affairs", "fire-safety", "public-security",
           "dispute-mediation", "truth", "hub.yaml")


@dataclass(frozen=True)
class SynthSummary:
    """What was generated: world sizes and source record counts."""

    out: str
    seed: int
    days: int
    noise: str
    townships: int
    grids: int
    residents: int
    households: int
    buildings: int
    organisations: int
    floating_persons: int
    population_households: int
    population_persons: int
    entity_records: int
    quarantined: int
    faults: int

    def as_dict(self) -> dict:
        return asdict(self)


def generate(out: Path, *, seed: int = 7, residents: int = 20000, townships: int = 1, days: int = 3,
             noise: str = "default", population_url: str | None = None, county: str | None = None,
             county_index: int = 0,
             arrivals: Sequence[Identity] = (), departures: list[Identity] | None = None,
             movers: int = 0) -> SynthSummary:
    """Write a whole synthetic county into `out`; same arguments, same bytes.

    As one of a province's counties (hub.synth.province): ``county`` is its division code, ``arrivals``
    are people registered in another county who now live here too, and ``movers`` of this county's
    registered residents are appended to ``departures`` for the next county.
    """
    if residents < 100:
        raise ValueError(f"--residents must be at least 100, got {residents}")
    if not 1 <= townships <= 50:
        raise ValueError(f"--townships must be between 1 and 50, got {townships}")
    if not 0 <= days <= 60:
        raise ValueError(f"--days must be between 0 and 60, got {days}")
    profile = nz.profile(noise)
    if population_url:
        population.check(population_url)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:  # a re-run replaces what an earlier run wrote, nothing else
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()

    def stream(name: str) -> random.Random:
        return random.Random(f"{seed}:{name}")  # str seeds hash with SHA-512: stable across runs

    truth = Truth()
    grids = build_grids(stream("grids"), townships=townships,
                        **({"county": county, "county_index": county_index} if county else {}))
    write_geojson(grids, out / "grids.geojson")
    truth.day(0, "grid-registry", "grids", len(grids))
    truth.day_files(0, "grid-registry", ["grids.geojson"])

    world = World(stream("world"), grids, residents, profile, county=county)
    settle(world, arrivals, stream("arrivals"))
    if departures is not None:
        departures.extend(leaving(world, movers, stream("departures"), arrivals))
    build_organisations(world, stream("organisations"))
    floating = max(10, residents * 8 // 100)
    add_floating(world, stream("floating"), floating)
    separate(world, stream("separated"))

    civil = CivilAffairs(world, out, stream("civil-affairs"), profile, truth, days)
    fire = FireSafety(world, out, stream("fire-safety"), profile, truth, days)
    police = PublicSecurity(world, out, stream("public-security"), profile, truth,
                            separated_rng=stream("public-security-separated"))
    disputes = DisputeMediation(world, out, stream("dispute-mediation"), profile, truth, days)
    life = stream("changes")
    for day in range(days + 1):
        changes = advance(world, day, life, residents, floating) if day else None
        civil.emit_day(day)
        fire.emit_day(day)
        police.emit_day(day, changes)
        disputes.emit_day(day)
    fire.finish()
    n_hu, n_ry = population.write(world, out, population_url, stream("population"), profile, truth, days)

    for p in world.persons:
        truth.grid("person", p.uid, (p.residence or p.building).grid.code)  # where they live
    for h in world.households:
        truth.grid("household", h.uid, h.group.code)
    for b in world.buildings:
        truth.grid("building", b.uid, b.grid.code)
    for o in world.organisations:
        truth.grid("organization", o.uid, o.building.grid.code)
    truth.world = {"grids": len(grids), "persons": len(world.persons), "households": len(world.households),
                   "buildings": len(world.buildings), "organisations": len(world.organisations),
                   "floating_persons": sum(p.floating for p in world.persons),
                   "registered_persons": sum(p.ryid is not None for p in world.persons)}
    truth.write(out, days)
    write_record_places(out, world, truth)
    url = population_url or "sqlite:///population.db"
    (out / "hub.yaml").write_text(HUB_YAML.format(population_url=url), encoding="utf-8")
    return SynthSummary(
        out=str(out), seed=seed, days=days, noise=profile.name, townships=townships, grids=len(grids),
        residents=truth.world["registered_persons"], households=len(world.households),
        buildings=len(world.buildings), organisations=len(world.organisations),
        floating_persons=truth.world["floating_persons"], population_households=n_hu, population_persons=n_ry,
        entity_records=len(truth.entities), quarantined=len(truth.quarantine), faults=len(truth.faults))

"""A synthetic province: several counties, each a whole synthetic county, with movers between them.

County ``k`` receives ``movers`` registered residents of county ``k-1`` (same citizen ID, name and
birth date, recorded again where they now live). The counties' codes are real county-level
divisions of 石家庄市 (none is a birthplace region the single-county synth draws IDs from, so two
counties never issue the same citizen ID by chance). ``hub.yaml`` lists every county's sources
under ``counties:``; the public-security sources need their simulated APIs, so they are disabled.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from hub.synth.generate import SynthSummary, generate
from hub.synth.movers import Identity

COUNTIES: list[tuple[str, str]] = [
    ("130102", "长安区"), ("130104", "桥西区"), ("130105", "新华区"), ("130107", "井陉矿区"),
    ("130108", "裕华区"), ("130109", "藁城区"), ("130110", "鹿泉区"), ("130111", "栾城区"),
    ("130121", "井陉县"), ("130123", "正定县"), ("130125", "行唐县"), ("130126", "灵寿县"),
    ("130127", "高邑县"), ("130128", "深泽县"), ("130129", "赞皇县"), ("130130", "无极县"),
    ("130131", "平山县"), ("130132", "元氏县"), ("130133", "赵县"), ("130181", "辛集市"),
    ("130183", "晋州市"), ("130184", "新乐市"),
]

COUNTY_SOURCES = """\
    sources:
      grid-registry:     {{connector: grid-registry, path: {code}/grids.geojson}}
      population:        {{connector: population, url: "sqlite:///{code}/population.db"}}
      civil-affairs:     {{connector: civil-affairs, path: {code}/civil-affairs}}
      fire-safety:       {{connector: fire-safety, path: {code}/fire-safety}}
      public-security:   {{connector: public-security, base_url: "http://127.0.0.1:8765", token_env: PUBLIC_SECURITY_TOKEN, enabled: false}}
      dispute-mediation: {{connector: dispute-mediation, path: {code}/dispute-mediation}}
"""


@dataclass(frozen=True)
class ProvinceSummary:
    out: str
    counties: list[SynthSummary]
    movers: int

    def as_dict(self) -> dict:
        return asdict(self)


def generate_province(out: Path, *, counties: int, seed: int = 7, residents: int = 20000, townships: int = 1,
                      days: int = 3, noise: str = "default", movers: int = 0) -> ProvinceSummary:
    """Write ``counties`` counties into ``out/<code>/`` and a ``hub.yaml`` naming them all."""
    if not 1 <= counties <= len(COUNTIES):
        raise ValueError(f"--counties must be between 1 and {len(COUNTIES)}, got {counties}")
    if movers < 0:
        raise ValueError(f"--movers must not be negative, got {movers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries: list[SynthSummary] = []
    arrivals: list[Identity] = []
    moved: list[dict[str, str]] = []
    yaml = ["database: sqlite:///var/hub.db", "landing: var/landing", "counties:"]
    for k, (code, name) in enumerate(COUNTIES[:counties]):
        departures: list[Identity] = []
        summaries.append(generate(out / code, seed=seed * 1000 + k, residents=residents, townships=townships,
                                  days=days, noise=noise, county=code, county_index=k, arrivals=arrivals,
                                  departures=departures if k + 1 < counties else None, movers=movers))
        moved += [{"id18": who.id18, "from": COUNTIES[k - 1][0], "to": code} for who in arrivals]
        arrivals = departures
        yaml += [f"  \"{code}\":", f"    name: {name}", COUNTY_SOURCES.format(code=code).rstrip("\n")]
    (out / "hub.yaml").write_text("\n".join(yaml) + "\n", encoding="utf-8")
    (out / "movers.json").write_text(json.dumps(moved, ensure_ascii=False, indent=1), encoding="utf-8")
    return ProvinceSummary(out=str(out), counties=summaries, movers=len(moved))

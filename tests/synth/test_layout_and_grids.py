"""The county folder has every source of legacy-systems.md, and the grids nest as a tree."""

from __future__ import annotations

import json

import yaml
from shapely.geometry import shape


def test_every_source_is_written_where_hub_yaml_points(county):
    cfg = yaml.safe_load((county / "hub.yaml").read_text(encoding="utf-8"))
    sources = cfg["sources"]
    assert set(sources) == {"grid-registry", "population", "civil-affairs", "fire-safety", "public-security",
                            "dispute-mediation"}
    assert sources["population"]["url"] == "sqlite:///population.db"  # relative: the folder can move
    for name in ("grid-registry", "civil-affairs", "fire-safety", "dispute-mediation"):
        assert not sources[name]["path"].startswith("/")
        assert (county / sources[name]["path"]).exists()
    assert (county / "population.db").is_file()
    assert sources["public-security"]["token_env"] == "PUBLIC_SECURITY_TOKEN"
    for f in ("entities.csv", "quarantine.csv", "faults.csv", "grid_assignment.csv", "counts.json", "days.json"):
        assert (county / "truth" / f).is_file()


def test_default_plan_is_one_township_13_villages_115_groups_nested(county):
    doc = json.loads((county / "grids.geojson").read_text(encoding="utf-8"))
    feats = {f["properties"]["code"]: f for f in doc["features"]}
    levels = [f["properties"]["level"] for f in doc["features"]]
    assert (levels.count(1), levels.count(2), levels.count(3)) == (1, 13, 115)
    names = [f["properties"]["name"] for f in doc["features"] if f["properties"]["level"] == 2]
    assert sum(n.endswith("社区") for n in names) == 1 and sum(n.endswith("村") for n in names) == 12
    for code, f in feats.items():
        p = f["properties"]
        assert set(p) == {"code", "name", "level", "parent", "manager", "phone"}
        assert len(code) == (15 if p["level"] == 3 else 12) and code.isdigit()
        if p["level"] == 1:
            assert p["parent"] is None and code.endswith("000")
            continue
        parent = feats[p["parent"]]
        assert code.startswith(p["parent"][: 9 if p["level"] == 2 else 12])
        assert shape(parent["geometry"]).buffer(1e-9).contains(shape(f["geometry"]))
    groups = [shape(f["geometry"]) for f in doc["features"] if f["properties"]["level"] == 3]
    town = shape(next(f for f in doc["features"] if f["properties"]["level"] == 1)["geometry"])
    assert abs(sum(g.area for g in groups) - town.area) < 1e-9  # groups tile the township without overlap


def test_more_townships(tmp_path):
    from hub.synth import generate

    s = generate(tmp_path, residents=300, townships=2, days=0)
    doc = json.loads((tmp_path / "grids.geojson").read_text(encoding="utf-8"))
    assert s.grids == 2 * 129
    assert sorted(f["properties"]["code"] for f in doc["features"] if f["properties"]["level"] == 1) == [
        "130203101000", "130203102000"]

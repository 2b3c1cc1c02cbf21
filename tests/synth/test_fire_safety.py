"""§3 daily GB18030 CSV folders read back with the codec and csv, like county IT would."""

from __future__ import annotations

import csv
import io
import json

import pytest
from shapely.geometry import Point, shape
from stdnum.cn import uscc

HEADERS = {
    "单位.csv": ["单位编号", "单位名称", "统一社会信用代码", "单位地址", "法定代表人", "消防安全责任人", "责任人身份证号",
               "联系电话", "单位类别", "所属网格", "经度", "纬度", "更新时间"],
    "检查记录.csv": ["检查编号", "单位编号", "检查日期", "检查人员", "检查类型", "发现隐患数", "检查结论"],
    "隐患.csv": ["隐患编号", "检查编号", "隐患描述", "隐患等级", "整改期限", "整改状态", "整改完成日期"],
}


def _read(path) -> tuple[list[dict], str]:
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "gb18030"
    return list(csv.DictReader(io.StringIO(raw.decode(encoding), newline=""))), encoding


@pytest.fixture(scope="module")
def folders(county):
    out = {}
    for folder in sorted((county / "fire-safety").iterdir()):
        out[folder.name] = {f: _read(folder / f) for f in HEADERS}
    return out


def test_one_folder_a_day_gb18030_with_one_bom_file(folders, days_plan, truth):
    assert list(folders) == [d["date"].replace("-", "") for d in days_plan["days"]]
    boms = [(name, f) for name, files in folders.items() for f, (_, enc) in files.items() if enc == "utf-8-sig"]
    recorded = {f["source_key"] for f in truth["faults"] if f["fault"] == "utf8_bom"}
    assert len(boms) == 1 and {f"{n}/{f}" for n, f in boms} == recorded
    for files in folders.values():
        for f, (rows, _) in files.items():
            assert not rows or list(rows[0]) == HEADERS[f]


def test_gb18030_only_names_survive(county, folders, truth):
    names = "".join(r["消防安全责任人"] + r["法定代表人"] for files in folders.values() for r in files["单位.csv"][0])
    rare = [c for c in names if ord(c) >= 0x3400 and not _gbk(c)]
    assert rare, "no name needing GB18030 in the units"
    assert any(f["fault"] == "gb18030_only_character" for f in truth["faults"])


def _gbk(c: str) -> bool:
    try:
        c.encode("gbk")
        return True
    except UnicodeEncodeError:
        return False


def test_credit_codes_valid_including_letter_prefixes(folders, truth):
    bad = {q["source_key"] for q in truth["quarantine"] if q["reason"] == "credit_code_checksum"}
    codes = {}
    for files in folders.values():
        for r in files["单位.csv"][0]:
            codes[r["单位编号"]] = (r["统一社会信用代码"], r["单位类别"])
    prefixes = set()
    for unit, (code, category) in codes.items():
        if not code:
            assert category == "九小场所"
            continue
        ok = uscc.calc_check_digit(code[:17]) == code[17]
        assert ok == (unit not in bad), unit
        prefixes.add(code[0])
    assert {"N", "Y", "A", "9", "5", "1"} <= prefixes
    assert not uscc.is_valid(next(c for c, _ in codes.values() if c.startswith("N")))  # stdnum is too strict


def test_units_sit_in_their_grid_and_quirks_are_recorded(county, folders, truth):
    grids = {f["properties"]["code"]: shape(f["geometry"]) for f in
             json.loads((county / "grids.geojson").read_text(encoding="utf-8"))["features"]}
    swapped = {f["source_key"] for f in truth["faults"] if f["fault"] == "coordinates_swapped"}
    unknown = {q["source_key"] for q in truth["quarantine"] if q["reason"] == "grid_code_unknown"}
    true_grid = {g["entity_uid"]: g["grid_code"] for g in truth["grid_assignment"]}
    ent = {e["source_key"]: e["entity_uid"] for e in truth["entities"] if e["stream"] == "units"}
    for r in folders[min(folders)]["单位.csv"][0]:
        unit = r["单位编号"]
        code = true_grid[ent[unit]]
        if r["所属网格"]:
            assert (r["所属网格"] == code) != (unit in unknown)
        if r["经度"]:
            lon, lat = float(r["经度"]), float(r["纬度"])
            if unit in swapped:
                lon, lat = lat, lon
            assert grids[code].contains(Point(lon, lat))
    assert any(not r["所属网格"] for r in folders[min(folders)]["单位.csv"][0])


def test_responsible_persons_are_residents(county, folders, truth):
    persons = {e["entity_uid"] for e in truth["entities"] if e["source"] == "population"}
    resp = [e for e in truth["entities"] if e["source"] == "fire-safety" and e["source_key"].endswith("#责任人")]
    assert resp and all(e["entity_uid"] in persons for e in resp)


def test_hazards_are_rectified_or_overdue_over_the_days(folders):
    statuses = {}
    for name in sorted(folders):
        for r in folders[name]["隐患.csv"][0]:
            statuses.setdefault(r["隐患编号"], []).append(r["整改状态"])
    final = [s[-1] for s in statuses.values()]
    assert {"待整改", "已整改", "逾期"} <= set(final)
    assert any(s[0] == "待整改" and s[-1] in ("已整改", "逾期") for s in statuses.values() if len(s) > 1)
    later = [r for name in sorted(folders)[1:] for r in folders[name]["检查记录.csv"][0]]
    assert any(r["检查类型"] == "复查" for r in later)


def test_days_json_counts_and_redelivered_folder(county, folders, days_plan, truth):
    last = days_plan["days"][-1]["sources"]["fire-safety"]
    assert len(last["files"]) == 2  # its own folder plus the re-delivered one
    for d in days_plan["days"]:
        fs = d["sources"]["fire-safety"]
        for stream, f in (("units", "单位.csv"), ("inspections", "检查记录.csv"), ("hazards", "隐患.csv")):
            assert fs[stream]["read"] == sum(len(folders[p.split("/")[1]][f][0]) for p in fs["files"])
    redelivered = [f["source_key"] for f in truth["faults"] if f["fault"] == "redelivered_folder"]
    assert len(redelivered) == 1
    original = county / "truth" / "replay" / "fire-safety" / redelivered[0] / "单位.csv"
    before = {r["单位编号"]: r for r in _read(original)[0]}
    after = {r["单位编号"]: r for r in folders[redelivered[0]]["单位.csv"][0]}
    assert before.keys() == after.keys()
    assert all(before[k]["联系电话"] != after[k]["联系电话"] for k in before)
    assert all(after[k]["更新时间"] > before[k]["更新时间"] for k in before if before[k]["更新时间"][4] == "-")


def test_date_variants_and_quarantined_dates(folders, truth):
    dates = [r["检查日期"] for files in folders.values() for r in files["检查记录.csv"][0]]
    assert any("/" in d for d in dates) and any(d.isdigit() for d in dates) and any("-" in d for d in dates)
    required = {q["source_key"] for q in truth["quarantine"] if q["reason"] == "required"}
    blank = {r["检查编号"] for files in folders.values() for r in files["检查记录.csv"][0] if not r["检查日期"]}
    assert blank == required

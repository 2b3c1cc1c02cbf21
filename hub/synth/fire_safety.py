"""§3 fire-safety: a drop folder with one GB18030 CSV delta folder a day.

Day 0's folder is the initial full export (all units, the inspection history); each
later folder holds only what was created or changed that day. Per-unit quirks are
decided once, so a unit re-sent on a later day looks the same apart from its changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from hub.synth import noise as nz
from hub.synth.days import DAY0, day_date, office_second, stamp
from hub.synth.identity import wrong_credit_check
from hub.synth.names import RARE_GIVEN, given_name, surname
from hub.synth.organisations import KEY, SMALL
from hub.synth.truth import Truth
from hub.synth.world import Organisation, World

SOURCE = "fire-safety"
UNIT_HEADER = ["单位编号", "单位名称", "统一社会信用代码", "单位地址", "法定代表人", "消防安全责任人", "责任人身份证号",
               "联系电话", "单位类别", "所属网格", "经度", "纬度", "更新时间"]
INSPECTION_HEADER = ["检查编号", "单位编号", "检查日期", "检查人员", "检查类型", "发现隐患数", "检查结论"]
HAZARD_HEADER = ["隐患编号", "检查编号", "隐患描述", "隐患等级", "整改期限", "整改状态", "整改完成日期"]
HAZARDS = ["疏散通道堵塞", "安全出口锁闭", "灭火器过期失效", "消防栓无水", "电气线路私拉乱接", "应急照明损坏",
           "疏散指示标志缺失", "电动自行车室内充电", "消防控制室无人值班", "防火门常开", "易燃物品堆放不当", "厨房排油烟管道未清洗"]


@dataclass
class Hazard:
    no: str
    inspection: str
    unit: Organisation
    text: str
    grade: str
    deadline: dt.date
    status: str = "待整改"
    done: dt.date | None = None
    bad_deadline: str | None = None


@dataclass
class Folder:
    units: list[list] = field(default_factory=list)
    inspections: list[list] = field(default_factory=list)
    hazards: list[list] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=lambda: {"units": [], "inspections": [], "hazards": []})


class FireSafety:
    def __init__(self, world: World, out: Path, rng: random.Random, p: nz.NoiseProfile, truth: Truth,
                 days: int) -> None:
        self.world, self.rng, self.p, self.truth, self.days = world, rng, p, truth, days
        self.dir = out / SOURCE
        self.replay = out / "truth" / "replay" / SOURCE
        self.known_grids = {g.code for g in world.grids}
        self.static: dict[str, dict] = {}
        self.hazards: list[Hazard] = []
        self.seq = 0
        self.officers = [surname(rng) + given_name(rng, "1") for _ in range(12)]
        self.folders: dict[int, Folder] = {}

    # -- units -------------------------------------------------------------------
    def _unit_static(self, org: Organisation) -> dict:
        """The quirks of a unit's record, decided once."""
        rng, p, key = self.rng, self.p, org.unit_no
        t = self.truth
        credit = org.credit
        if org.category == SMALL and rng.random() < p.credit_code_missing_small:
            credit = ""
            t.fault(SOURCE, "units", key, "credit_code_missing", "small premises without credit code")
        elif rng.random() < p.credit_code_checksum:
            credit = wrong_credit_check(credit, rng)
            t.fault(SOURCE, "units", key, "credit_code_checksum", "check character replaced")
            t.quarantined(SOURCE, "units", key, "credit_code_checksum")
        grid = org.building.grid.code
        r = rng.random()
        if r < p.grid_code_unknown:
            grid = grid[:12] + "9" + grid[13:]
            t.fault(SOURCE, "units", key, "grid_code_unknown", "所属网格 not in the registry")
            t.quarantined(SOURCE, "units", key, "grid_code_unknown")
        elif rng.random() < p.grid_blank:
            grid = ""
        lon, lat = f"{org.building.lon:.6f}", f"{org.building.lat:.6f}"
        if rng.random() < p.coords_blank:
            lon = lat = ""
            t.fault(SOURCE, "units", key, "coordinates_missing", "经度/纬度 blank")
        elif rng.random() < p.coords_swapped:
            lon, lat = lat, lon
            t.fault(SOURCE, "units", key, "coordinates_swapped", "经度/纬度 swapped")
        rid = nz.write_id(rng, org.responsible.id18, p, hard=False)
        t.faults_of(SOURCE, "units", f"{key}#责任人", rid)
        if any(c in RARE_GIVEN for c in org.responsible.name + org.legal_rep.name):
            t.fault(SOURCE, "units", f"{key}#责任人", "gb18030_only_character", "name needs GB18030")
        t.entity(SOURCE, "units", key, "organization", org.uid)
        t.entity(SOURCE, "units", f"{key}#责任人", "person", org.responsible.uid)
        return {"credit": credit, "grid": grid, "lon": lon, "lat": lat, "rid": rid.text}

    def _unit_row(self, org: Organisation, when: dt.datetime) -> list:
        s = self.static.get(org.unit_no) or self.static.setdefault(org.unit_no, self._unit_static(org))
        d = nz.write_csv_date(self.rng, when.date(), self.p)
        for fault, detail in d.faults:
            self.truth.fault(SOURCE, "units", org.unit_no, fault, detail)
        return [org.unit_no, org.name, s["credit"], org.building.address, org.legal_rep.name, org.responsible.name,
                s["rid"], org.phone, org.category, s["grid"], s["lon"], s["lat"], f"{d.text} {when:%H:%M:%S}"]

    # -- inspections and hazards ------------------------------------------------------
    def _inspect(self, folder: Folder, org: Organisation, on: dt.date, kind: str, found: int) -> str:
        rng, p = self.rng, self.p
        self.seq += 1
        no = f"JC{on:%Y%m%d}{self.seq:05d}"
        d = nz.write_csv_date(rng, on, p)
        date_text = d.text
        for fault, detail in d.faults:
            self.truth.fault(SOURCE, "inspections", no, fault, detail)
        if rng.random() < p.required:
            date_text = ""
            self.truth.fault(SOURCE, "inspections", no, "required", "检查日期 empty")
            self.truth.quarantined(SOURCE, "inspections", no, "required")
        officers = "、".join(rng.sample(self.officers, 2))
        folder.inspections.append([no, org.unit_no, date_text, officers, kind, found, "合格" if found == 0 else "责令限期整改"])
        folder.keys["inspections"].append(no)
        for i in range(found):
            grade = "重大" if rng.random() < 0.1 else "一般"
            h = Hazard(f"YH{no[2:]}{i + 1:02d}", no, org, rng.choice(HAZARDS), grade,
                       on + dt.timedelta(days=30 if grade == "重大" else 15))
            if rng.random() < p.date_format:
                h.bad_deadline = rng.choice(["2026-02-30", "年底前", "15天内"])
                self.truth.fault(SOURCE, "hazards", h.no, "date_format", "整改期限 unparseable")
                self.truth.quarantined(SOURCE, "hazards", h.no, "date_format")
            self.hazards.append(h)
        return no

    def _hazard_row(self, folder: Folder, h: Hazard) -> None:
        if h.bad_deadline:
            deadline = h.bad_deadline
        else:
            dl = nz.write_csv_date(self.rng, h.deadline, self.p)
            deadline = dl.text
            for fault, detail in dl.faults:
                self.truth.fault(SOURCE, "hazards", h.no, fault, detail)
        done = nz.write_csv_date(self.rng, h.done, self.p).text if h.done else ""
        folder.hazards.append([h.no, h.inspection, h.text, h.grade, deadline, h.status, done])
        folder.keys["hazards"].append(h.no)

    # -- days --------------------------------------------------------------------------
    def emit_day(self, day: int) -> None:
        rng, orgs = self.rng, self.world.organisations
        today = day_date(day)
        folder = Folder()
        if day == 0:
            for org in orgs:
                folder.units.append(self._unit_row(org, stamp(0, office_second(rng)) - dt.timedelta(
                    days=rng.randrange(0, 900))))
                folder.keys["units"].append(org.unit_no)
                for _ in range(rng.choice([1, 2, 3, 4] if org.category == KEY else [0, 1, 1, 2])):
                    on = DAY0 - dt.timedelta(days=rng.randrange(1, 30) if rng.random() < 0.25 else rng.randrange(30, 720))
                    self._inspect(folder, org, on, rng.choice(["日常", "专项"]), rng.choice([0, 0, 1, 1, 2, 3]))
            for h in self.hazards:
                if h.deadline < DAY0:
                    h.status, h.done = ("已整改", h.deadline - dt.timedelta(days=rng.randrange(0, 10))) \
                        if rng.random() < 0.8 else ("逾期", None)
                elif rng.random() < 0.3:
                    h.status, h.done = "已整改", DAY0
            for h in self.hazards:
                self._hazard_row(folder, h)
        else:
            earlier = len(self.hazards)
            for org in rng.sample(orgs, max(1, len(orgs) // 50)):
                self._inspect(folder, org, today, rng.choice(["日常", "专项"]), rng.choice([0, 0, 1, 2]))
            for h in self.hazards[earlier:]:
                self._hazard_row(folder, h)
            for h in self.hazards[:earlier]:
                if h.status != "待整改" or h.bad_deadline:
                    continue
                if rng.random() < 0.3:
                    h.status, h.done = "已整改", today
                    self._inspect(folder, h.unit, today, "复查", 0)
                    self._hazard_row(folder, h)
                elif h.deadline < today:
                    h.status = "逾期"
                    self._hazard_row(folder, h)
            for org in rng.sample(orgs, max(1, len(orgs) // 100)):
                org.phone = org.phone[:-4] + f"{rng.randrange(10000):04d}"
                folder.units.append(self._unit_row(org, stamp(day, office_second(rng))))
                folder.keys["units"].append(org.unit_no)
        self.folders[day] = folder
        self._write(day, folder)

    def _write(self, day: int, folder: Folder, *, into: Path | None = None) -> None:
        name = f"{day_date(day):%Y%m%d}"
        path = (into or self.dir) / name
        path.mkdir(parents=True, exist_ok=True)
        bom_day = self.days
        for stream, fname, header, rows in (("units", "单位.csv", UNIT_HEADER, folder.units),
                                            ("inspections", "检查记录.csv", INSPECTION_HEADER, folder.inspections),
                                            ("hazards", "隐患.csv", HAZARD_HEADER, folder.hazards)):
            bom = self.p.utf8_bom and day == bom_day and stream == "inspections" and into is None
            with (path / fname).open("w", encoding="utf-8-sig" if bom else "gb18030", newline="") as f:
                w = csv.writer(f, lineterminator="\r\n")
                w.writerow(header)
                w.writerows(rows)
            if bom:
                self.truth.fault(SOURCE, stream, f"{name}/{fname}", "utf8_bom", "UTF-8 with BOM, not GB18030")
            if into is None:
                bad = sum((SOURCE, stream, k) in self.truth.quarantine for k in folder.keys[stream])
                self.truth.day(day, SOURCE, stream, len(rows), bad)
        if into is None:
            self.truth.day_files(day, SOURCE, [f"{SOURCE}/{name}"])

    def finish(self) -> None:
        """Re-deliver the second-last day's folder on the last day, with corrected phones."""
        last = self.days
        if not (self.p.redelivered_folder and last >= 2):
            return
        day = last - 1
        folder = self.folders[day]
        self._write(day, folder, into=self.replay)  # the original delivery, for replaying day by day
        for row in folder.units:
            row[7] = row[7][:-4] + f"{(int(row[7][-4:]) + 1) % 10000:04d}"
            row[12] = f"{day_date(last):%Y-%m-%d} 07:30:00"
        for row in folder.inspections:
            row[3] = row[3].replace("、", ",")
        name = f"{day_date(day):%Y%m%d}"
        self.truth.fault(SOURCE, "units", name, "redelivered_folder", f"re-delivered on day {last} with corrections")
        self._write(day, folder)
        # _write credited the counts to the earlier day; they belong to the re-delivery day
        for stream, rows in (("units", folder.units), ("inspections", folder.inspections), ("hazards", folder.hazards)):
            bad = sum((SOURCE, stream, k) in self.truth.quarantine for k in folder.keys[stream])
            entry = self.truth.days[day][SOURCE][stream]
            entry["read"] -= len(rows)
            entry["quarantined"] -= bad
            self.truth.day(last, SOURCE, stream, len(rows), bad)
        self.truth.days[day][SOURCE]["files"].pop()
        self.truth.day_files(last, SOURCE, [f"{SOURCE}/{name}"])

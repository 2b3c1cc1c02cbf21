"""§2 civil-affairs: one full roster workbook a month, four sheets, villages by name.

Programme membership is decided once and churns at each new month (joins, leaves,
停保); how a clerk typed each member's ID and name is decided once per member and
sheet, so the same person carries the same key month after month.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from hub.synth import noise as nz
from hub.synth.days import DAY0, roster_months
from hub.synth.truth import Truth
from hub.synth.workbook import RosterWorkbook
from hub.synth.world import Person, World

SOURCE = "civil-affairs"
HEADERS = {
    "低保对象": ["序号", "姓名", "身份证号码", "性别", "与户主关系", "户主姓名", "保障人数", "月保障金额(元)",
             "所属村(社区)", "联系电话", "审批日期", "状态"],
    "特困供养": ["序号", "姓名", "身份证号码", "性别", "供养方式", "所属村(社区)", "联系电话", "审批日期", "状态"],
    "残疾人": ["序号", "姓名", "残疾人证号", "残疾类别", "残疾等级", "所属村(社区)", "联系电话", "发证日期"],
    "高龄老人": ["序号", "姓名", "身份证号码", "出生日期", "年龄", "补贴标准", "所属村(社区)", "是否独居"],
}
RELATION = {"02": "户主", "10": "配偶", "20": "子女", "30": "孙子女", "50": "父母", "99": "其他"}
DISABILITY = {"1": "视力", "2": "听力", "3": "言语", "4": "肢体", "5": "智力", "6": "精神", "7": "多重"}
SEX = {"1": "男", "2": "女"}


class CivilAffairs:
    def __init__(self, world: World, out: Path, rng: random.Random, p: nz.NoiseProfile, truth: Truth,
                 days: int) -> None:
        self.world, self.rng, self.p, self.truth = world, rng, p, truth
        self.dir = out / SOURCE
        self.dir.mkdir(parents=True, exist_ok=True)
        self.plan = roster_months(days)
        self.first_month = self.plan[0][0]
        households = [h for h in world.households if h.status == "0"]
        self.dibao = {h.uid: h for h in rng.sample(households, min(len(households), max(2, len(households) * 3 // 100)))}
        self.stopped: set[str] = set()
        alone = [h.members[0] for h in households if len(h.members) == 1 and h.members[0].age_on(DAY0) >= 60]
        self.tekun = {x.uid: x for x in rng.sample(alone, min(len(alone), max(1, len(alone) // 10)))}
        people = [x for x in world.persons if x.ryid is not None]
        self.disabled = {x.uid: (x, rng.choice("1234567"), rng.choice("1234"))
                         for x in rng.sample(people, min(len(people), max(2, len(people) // 50)))}
        self.since: dict[str, dt.date] = {}
        self.written: dict[tuple[str, str], tuple[object, str, str]] = {}

    def emit_day(self, day: int) -> None:
        for month in self.plan.get(day, []):
            if month != self.first_month:
                self._churn()
            self._write(day, month)

    def _churn(self) -> None:
        rng = self.rng
        for uid in sorted(self.stopped):
            self.dibao.pop(uid, None)
        self.stopped = set()
        current = sorted(self.dibao)
        for i, uid in enumerate(rng.sample(current, min(len(current), max(2, len(current) * 3 // 100)))):
            if i == 0 or rng.random() < 0.5:  # at least one leaves outright, others are 停保 first
                self.dibao.pop(uid)
            else:
                self.stopped.add(uid)
        candidates = [h for h in self.world.households if h.status == "0" and h.uid not in self.dibao]
        for h in rng.sample(candidates, min(len(candidates), max(1, len(current) * 3 // 100))):
            self.dibao[h.uid] = h

    def _date(self, uid: str) -> dt.date:
        if uid not in self.since:
            self.since[uid] = DAY0 - dt.timedelta(days=self.rng.randrange(30, 3000))
        return self.since[uid]

    def _id(self, sheet: str, person: Person, suffix: str = "") -> tuple[object, str, str]:
        """(cell value, source key, name as typed), decided once per person and sheet."""
        cached = self.written.get((sheet, person.uid))
        if cached:
            return cached
        rng, p = self.rng, self.p
        if not suffix and person.id18[-1].isdigit() and rng.random() < p.excel_numeric_id:
            value: object = float(format(int(person.id18), ".14E"))
            key = format(value, ".14E")
            self.truth.fault(SOURCE, sheet, key, "id_numeric_cell", "ID stored as a number, last digits lost")
            self.truth.quarantined(SOURCE, sheet, key, "id_numeric_cell")
        else:
            w = nz.write_id(rng, person.id18, p, allow_15=False)
            value = w.text + suffix
            key = str(value).strip()
            self.truth.faults_of(SOURCE, sheet, key, w)
        name = nz.write_name(rng, person.name, p)
        self.truth.faults_of(SOURCE, sheet, key, name)
        self.truth.entity(SOURCE, sheet, key, "person", person.uid)
        self.written[(sheet, person.uid)] = (value, key, name.text)
        return value, key, name.text

    def _village(self, person: Person, key: str, sheet: str) -> str:
        village = self.world.village_of[person.building.grid.code]
        if self.rng.random() < self.p.village_no_suffix:
            self.truth.fault(SOURCE, sheet, key, "village_name_variant", "village without 村/社区 suffix")
            return village.short_name
        return village.name

    def _when(self, d: dt.date, key: str, sheet: str) -> object:
        value, faults = nz.write_excel_date(self.rng, d, self.p)
        for fault, detail in faults:
            self.truth.fault(SOURCE, sheet, key, fault, detail)
        return value

    def _rows(self, sheet: str, month_date: dt.date, counts: dict) -> list[list]:
        rows: list[list] = []
        keys: list[str] = []
        if sheet == "低保对象":
            for uid in sorted(self.dibao):
                h = self.dibao[uid]
                members = [m for m in h.members if m.status == "active"]
                if not members:
                    continue
                head = h.head
                for m in members:
                    value, key, name = self._id(sheet, m)
                    rows.append([len(rows) + 1, name, value, SEX[m.sex], RELATION.get(m.relation, "其他"),
                                 head.name, len(members), 300 * len(members), self._village(m, key, sheet),
                                 m.phone, self._when(self._date(uid), key, sheet),
                                 "停保" if uid in self.stopped else "在保"])
                    keys.append(key)
        elif sheet == "特困供养":
            for uid in sorted(self.tekun):
                m = self.tekun[uid]
                if m.status != "active":
                    continue
                value, key, name = self._id(sheet, m)
                rows.append([len(rows) + 1, name, value, SEX[m.sex], "集中" if int(uid[1:]) % 4 == 0 else "分散",
                             self._village(m, key, sheet), m.phone, self._when(self._date(uid), key, sheet), "在保"])
                keys.append(key)
        elif sheet == "残疾人":
            for uid in sorted(self.disabled):
                m, cat, grade = self.disabled[uid]
                if m.status != "active":
                    continue
                value, key, name = self._id(sheet, m, cat + grade)
                rows.append([len(rows) + 1, name, value, DISABILITY[cat], f"{grade}级",
                             self._village(m, key, sheet), m.phone, self._when(self._date(uid), key, sheet)])
                keys.append(key)
        else:
            for m in self.world.persons:
                if m.ryid is None or m.status != "active" or m.age_on(month_date) < 80:
                    continue
                value, key, name = self._id(sheet, m)
                age = m.age_on(month_date)
                alone = "是" if sum(x.status == "active" for x in m.household.members) == 1 else "否"
                rows.append([len(rows) + 1, name, value, self._when(m.birth, key, sheet), age,
                             200 if age >= 90 else 100, self._village(m, key, sheet), alone])
                keys.append(key)
        counts[sheet] = (len(rows), sum((SOURCE, sheet, k) in self.truth.quarantine for k in keys))
        return rows

    def _write(self, day: int, month: str) -> None:
        name = f"民政对象_{month}.xlsx"
        month_date = dt.date(int(month[:4]), int(month[4:]), 1)
        town = self.world.townships[0].name if len(self.world.townships) == 1 else "路北区"
        oldest, newest_day0 = month == self.first_month, month == self.plan[0][-1]
        wb = RosterWorkbook()
        counts: dict[str, tuple[int, int]] = {}
        for sheet, header in HEADERS.items():
            if oldest and sheet == "特困供养" and self.p.excel_sheet_missing:
                self.truth.fault(SOURCE, sheet, name, "sheet_missing", f"sheet {sheet} absent this month")
                continue
            rows = self._rows(sheet, month_date, counts)
            header = list(header)
            if newest_day0 and sheet == "低保对象" and self.p.excel_extra_column:
                header.append("备注")
                self.truth.fault(SOURCE, sheet, name, "extra_column", "clerk added a 备注 column")
            if sheet == "低保对象" and self.p.excel_blank_rows and len(rows) > 2:
                at = self.rng.randrange(1, len(rows))
                rows.insert(at, [])
                self.truth.fault(SOURCE, sheet, name, "blank_row", f"blank row after data row {at}")
            title = f"{town}{month_date.year}年{month_date.month}月{sheet}花名册"
            wb.sheet(sheet, title, header, rows)
        wb.save(self.dir / name)
        self.truth.day_files(day, SOURCE, [f"{SOURCE}/{name}"])
        for sheet, (n, q) in counts.items():
            self.truth.day(day, SOURCE, sheet, n, q)

"""§5 dispute-mediation: an append-only JSON Lines event log, one file a day.

Each case is planned as a timeline of events when it is accepted; the log of day k is
every planned event falling on day k, numbered by a global seq. Day 0 is the history
(one file per past day). The writer's crash (torn last line) and a vendor restore
(a seq delivered twice) are injected here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from hub.synth import noise as nz
from hub.synth.days import DAY0, day_date, office_second
from hub.synth.days import iso as iso_ts
from hub.synth.orgnames import NameWriter
from hub.synth.truth import Truth
from hub.synth.world import Person, World

SOURCE, STREAM = "dispute-mediation", "cases"
CATEGORIES = ["婚姻家庭", "邻里纠纷", "土地山林", "劳资纠纷", "物业纠纷", "损害赔偿", "其他"]
SUMMARIES = {"婚姻家庭": "夫妻因家庭琐事发生矛盾", "邻里纠纷": "因宅基地边界与邻居发生争执", "土地山林": "承包地界线争议",
             "劳资纠纷": "拖欠工资纠纷", "物业纠纷": "物业费及停车管理纠纷", "损害赔偿": "饲养的狗咬伤他人赔偿",
             "其他": "噪音扰民"}


class DisputeMediation:
    def __init__(self, world: World, out: Path, rng: random.Random, p: nz.NoiseProfile, truth: Truth,
                 days: int) -> None:
        self.world, self.rng, self.p, self.truth, self.days = world, rng, p, truth, days
        self.dir = out / SOURCE
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pending: list[tuple[dt.datetime, int, str, str, dict]] = []  # (ts, order, type, case_no, data)
        self.order = 0
        self.seq = 0
        self.cases = 0
        self.firms = [o for o in world.organisations if o.authority[:2] in ("91", "92")]
        self.names = NameWriter.of(world)
        self.last_lines: list[tuple[str, str]] = []  # (case_no, line) of the newest file
        self.per_day = max(1, len(world.persons) // 3000)

    def _party(self, case_no: str, i: int, role: str, who) -> dict:
        rng, t = self.rng, self.truth
        key = f"{case_no}#{i}"
        if isinstance(who, Person):
            t.entity(SOURCE, STREAM, key, "person", who.uid)
            name = nz.write_name(rng, who.name, self.p)
            t.faults_of(SOURCE, STREAM, key, name)
            id_no = None
            if rng.random() < 0.8:
                w = nz.write_id(rng, who.id18, self.p, hard=False)
                t.faults_of(SOURCE, STREAM, key, w)
                id_no = w.text
            else:
                t.fault(SOURCE, STREAM, key, "party_id_missing", "party without id_no")
            return {"role": role, "name": name.text, "id_no": id_no, "phone": who.phone}
        t.entity(SOURCE, STREAM, key, "organization", who.uid)
        return {"role": role, "name": self.names.write_org(key, who, "party", t, SOURCE, STREAM), "id_no": who.credit,
                "phone": who.phone}

    def _resident(self, near: Person | None = None) -> Person:
        for _ in range(500):
            p = self.rng.choice(self.world.persons)
            if p.status == "active" and p.ryid is not None and p.age_on(DAY0) >= 18 and p is not near and (
                    near is None or p.building.grid.parent == near.building.grid.parent):
                return p
        return p

    def _plan_case(self, accepted: dt.datetime) -> None:
        rng = self.rng
        self.cases += 1
        case_no = f"TJ{accepted:%Y%m%d}{self.cases:05d}"
        category = rng.choice(CATEGORIES)
        first = self._resident()
        if category == "婚姻家庭" and first.household and len(first.household.members) > 1:
            second = next((m for m in first.household.members if m is not first and m.age_on(DAY0) >= 18), None) \
                or self._resident(first)
        elif category in ("劳资纠纷", "物业纠纷") and self.firms:
            second = rng.choice(self.firms)
        else:
            second = self._resident(first)
        parties = [self._party(case_no, 0, "申请人", first), self._party(case_no, 1, "被申请人", second)]
        if rng.random() < 0.1:
            parties.append(self._party(case_no, 2, "申请人", self._resident(first)))
        grid = first.building.grid
        level = rng.choices(["村级", "镇级", "县级"], [70, 25, 5])[0]
        steps = [("case.accepted", {"category": category, "grid_code": grid.code, "location": first.building.address,
                                    "summary": SUMMARIES[category], "level": level, "parties": parties}),
                 ("case.assigned", {"mediator": grid.manager or "人民调解员",
                                    "department": self.world.village_of[grid.code].name + "调解委员会"})]
        steps += [("case.progress", {"note": rng.choice(["已电话联系双方", "组织双方面对面调解", "实地查看现场"])})
                  for _ in range(rng.randrange(0, 3))]
        end = rng.random()
        if end < 0.7:
            steps.append(("case.resolved", {"agreement": "双方达成调解协议",
                                            "amount": rng.choice([None, 500, 2000, 8000])}))
        elif end < 0.85:
            steps.append(("case.failed", {"reason": "一方拒绝调解"}))
        else:
            steps.append(("case.transferred", {"to": rng.choice(["镇司法所", "县人民法院"])}))
        steps.append(("case.closed", {"feedback": rng.choice(["满意", "满意", "基本满意", "不满意"])}))
        ts = accepted
        for kind, data in steps:
            self.order += 1
            self.pending.append((ts, self.order, kind, case_no, data))
            ts = ts + dt.timedelta(hours=rng.randrange(2, 60), seconds=rng.randrange(3600))

    def emit_day(self, day: int) -> None:
        rng = self.rng
        if day == 0:
            for back in range(60, -1, -1):
                d = DAY0 - dt.timedelta(days=back)
                for _ in range(rng.randrange(0, self.per_day + 1)):
                    self._plan_case(dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=office_second(rng)))
        else:
            for _ in range(self.per_day):
                self._plan_case(dt.datetime.combine(day_date(day), dt.time()) + dt.timedelta(seconds=office_second(rng)))
        end = dt.datetime.combine(day_date(day), dt.time.max)
        due = sorted(e for e in self.pending if e[0] <= end)
        self.pending = [e for e in self.pending if e[0] > end]
        files: dict[dt.date, list[tuple[str, str]]] = {}
        for ts, _, kind, case_no, data in due:
            self.seq += 1
            line = json.dumps({"seq": self.seq, "ts": iso_ts(ts), "type": kind, "case_no": case_no, "data": data},
                              ensure_ascii=False, separators=(",", ":"))
            files.setdefault(ts.date(), []).append((case_no, line))
        if day > 0:
            files.setdefault(day_date(day), [])
        for d in sorted(files):
            lines = files[d]
            dup = 0
            if self.p.duplicate_seq and day == min(1, self.days) and d == max(files) and self.last_lines:
                repeat = self.last_lines[-2:]
                for case_no, line in repeat:
                    self.truth.fault(SOURCE, STREAM, case_no, "duplicate_seq",
                                     f"seq {json.loads(line)['seq']} delivered again in events-{d:%Y%m%d}.jsonl")
                lines = repeat + lines
                dup = len(repeat)
            name = f"events-{d:%Y%m%d}.jsonl"
            torn = self._tail(day, d == max(files), name)
            with (self.dir / name).open("w", encoding="utf-8", newline="\n") as f:
                f.writelines(line + "\n" for _, line in lines)
                f.write(torn)
            self.last_lines = lines
            self.truth.day(day, SOURCE, STREAM, len(lines))
            self.truth.day_extra(day, SOURCE, STREAM, "duplicate_lines", dup)
            self.truth.day_extra(day, SOURCE, STREAM, "torn_lines", int(bool(torn)))
            self.truth.day_files(day, SOURCE, [f"{SOURCE}/{name}"])

    def _tail(self, day: int, newest: bool, name: str) -> str:
        """On the last day, the writer crashed half-way through the next event."""
        if not (self.p.torn_line and newest and day == self.days and self.pending):
            return ""
        ts, _, kind, case_no, data = min(self.pending)
        line = json.dumps({"seq": self.seq + 1, "ts": iso_ts(ts), "type": kind, "case_no": case_no, "data": data},
                          ensure_ascii=False, separators=(",", ":"))
        self.truth.fault(SOURCE, STREAM, case_no, "torn_line", f"last line of {name} cut off (seq {self.seq + 1})")
        return line[: max(10, len(line) // 2)]

"""§4 public-security: the records the simulated API serves, one JSONL file a stream a day.

`public-security/<stream>/day-NN.jsonl` holds the versions of records updated on day NN
(their updatedAt falls on that day; day 00 holds the history). The server serves, for
its current day, the newest version of every record from day-00 … day-NN.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from hub.synth import noise as nz
from hub.synth.changes import DayChanges
from hub.synth.days import DAY0, history_stamp, iso, office_second, stamp
from hub.synth.identity import OTHER_PROVINCES
from hub.synth.organisations import SMALL
from hub.synth.orgnames import NameWriter
from hub.synth.truth import Truth
from hub.synth.world import Person, World

SOURCE = "public-security"
STREAMS = ("floating-persons", "special-persons", "incidents")
CATEGORIES = ["community_correction", "released_prisoner", "drug_rehab", "severe_mental_disorder", "key_youth"]
INCIDENT_TYPES = [("盗窃", "报警称电动车被盗"), ("纠纷", "邻里因琐事发生争吵"), ("交通事故", "两车轻微剐蹭"),
                  ("火情", "居民楼道杂物起火"), ("求助", "老人走失求助"), ("诈骗", "接到冒充客服电话被骗"),
                  ("噪音扰民", "夜间施工噪音扰民")]
PROVINCE_OF = dict(OTHER_PROVINCES)
EMPLOYER_IN_VILLAGE, EMPLOYER_IN_TOWNSHIP = 0.7, 0.92  # cumulative: the rest work anywhere in the county


class PublicSecurity:
    def __init__(self, world: World, out: Path, rng: random.Random, p: nz.NoiseProfile, truth: Truth,
                 separated_rng: random.Random | None = None) -> None:
        self.world, self.rng, self.p, self.truth = world, rng, p, truth
        # people of the county living away from home (人户分离) draw from their own stream, so adding them
        # leaves every other record as it was
        self.separated_rng = separated_rng or random.Random(0)
        self.dir = out / SOURCE
        self.known = {g.code for g in world.grids}
        self.employers = [o for o in world.organisations if o.authority in ("91", "92") or o.category == SMALL]
        self.employers_in: dict[str, list] = {}  # village and township code -> its employers
        for o in self.employers:
            village = world.village_of[o.building.grid.code]
            self.employers_in.setdefault(village.code, []).append(o)
            self.employers_in.setdefault(village.parent or "", []).append(o)
        self.names = NameWriter.of(world)
        self.static: dict[str, dict] = {}
        self.special: dict[str, dict] = {}
        self.incidents: list[dict] = []
        self.fp_ids: dict[str, str] = {}

    def _grid(self, stream: str, key: str, code: str, rng: random.Random | None = None) -> str | None:
        r = (rng or self.rng).random()
        if r < self.p.grid_code_unknown:
            self.truth.fault(SOURCE, stream, key, "grid_code_unknown", "gridCode not in the registry")
            self.truth.quarantined(SOURCE, stream, key, "grid_code_unknown")
            return code[:12] + "9" + code[13:]
        return None if r > 1 - self.p.grid_blank / 5 else code

    def _floating(self, person: Person, rng: random.Random | None = None) -> dict:
        """A migrant where they live, or a person of the county where they live away from home."""
        rng, t = rng or self.rng, self.truth
        home = person.residence or person.building
        key = self.fp_ids.setdefault(person.uid, f"FP{len(self.fp_ids) + 1:08d}")
        s = self.static.get(key)
        if s is None:
            idw = nz.write_id(rng, person.id18, self.p)
            name = nz.write_name(rng, person.name, self.p)
            t.faults_of(SOURCE, "floating-persons", key, idw)
            t.faults_of(SOURCE, "floating-persons", key, name)
            t.entity(SOURCE, "floating-persons", key, "person", person.uid)
            employer = self._employer(home, rng) if self.employers and rng.random() < 0.7 else None
            if employer is not None:
                t.entity(SOURCE, "floating-persons", f"{key}#employer", "organization", employer.uid)
            registered = person.changed.date()
            s = self.static[key] = {
                "id": key, "name": name.text, "idNo": idw.text, "gender": "M" if person.sex == "1" else "F",
                "birthDate": person.birth.isoformat(), "nativePlace": PROVINCE_OF.get(person.native, ""),
                "address": f"{home.address}{rng.randrange(1, 30)}室",
                "gridCode": self._grid("floating-persons", key, home.grid.code, rng),
                "registeredAt": registered.isoformat(),
                "permitExpiry": (registered + dt.timedelta(days=365 * rng.choice([1, 2, 3]))).isoformat(),
                "employer": self.names.write_org(f"{key}#employer", employer, "employer", t, SOURCE, "floating-persons")
                if employer else None, "phone": person.phone,
            }
        return dict(s, status="active" if person.status == "active" else "left", updatedAt=iso(person.changed))

    def _employer(self, home, rng: random.Random):  # type: ignore[no-untyped-def]
        """Migrants mostly work where they live: their village, else their township, rarely farther."""
        village = self.world.village_of[home.grid.code]
        r = rng.random()
        near = self.employers_in.get(village.code) if r < EMPLOYER_IN_VILLAGE else \
            self.employers_in.get(village.parent or "") if r < EMPLOYER_IN_TOWNSHIP else None
        return rng.choice(near or self.employers)

    def _special(self, person: Person, since: dt.date, updated: dt.datetime, status: str = "active") -> dict:
        key = f"SP{len(self.special) + 1:07d}"
        idw = nz.write_id(self.rng, person.id18, self.p)
        self.truth.faults_of(SOURCE, "special-persons", key, idw)
        self.truth.entity(SOURCE, "special-persons", key, "person", person.uid)
        grid = person.building.grid
        rec = {"id": key, "idNo": idw.text, "name": person.name, "category": self.rng.choice(CATEGORIES),
               "since": since.isoformat(), "gridCode": self._grid("special-persons", key, grid.code),
               "supervisor": grid.manager or "网格员", "status": status, "updatedAt": iso(updated), "_uid": person.uid}
        self.special[key] = rec
        return rec

    def _incident(self, on: dt.datetime) -> dict:
        rng = self.rng
        building = rng.choice(self.world.buildings)
        no = f"JQ{on:%Y%m%d}{len(self.incidents) + 1:06d}"
        kind, summary = rng.choice(INCIDENT_TYPES)
        lon, lat = building.lon, building.lat
        if rng.random() < self.p.coords_swapped:
            lon, lat = lat, lon
            self.truth.fault(SOURCE, "incidents", no, "coordinates_swapped", "lon/lat swapped")
        rec = {"incidentNo": no, "type": kind, "occurredAt": iso(on), "address": building.address,
               "gridCode": self._grid("incidents", no, building.grid.code), "lon": lon, "lat": lat,
               "summary": summary, "status": "已受理", "updatedAt": iso(on)}
        self.incidents.append(rec)
        return rec

    def emit_day(self, day: int, changes: DayChanges | None) -> None:
        rng = self.rng
        out: dict[str, list[dict]] = {s: [] for s in STREAMS}
        if day == 0:
            for person in self.world.persons:
                if person.floating:
                    out["floating-persons"].append(self._floating(person))
            for person in self.world.persons:
                if person.residence is not None:
                    out["floating-persons"].append(self._floating(person, self.separated_rng))
            residents = [x for x in self.world.persons if x.ryid is not None and x.status == "active"
                         and 18 <= x.age_on(DAY0) <= 70]
            for person in rng.sample(residents, min(len(residents), max(3, len(residents) * 3 // 1000))):
                since = DAY0 - dt.timedelta(days=rng.randrange(30, 2000))
                status = "closed" if rng.random() < 0.15 else "active"
                out["special-persons"].append(self._special(person, since, history_stamp(rng, since), status))
            for _ in range(max(10, len(self.world.persons) // 200)):
                on = dt.datetime.combine(DAY0 - dt.timedelta(days=rng.randrange(0, 60)), dt.time()) + \
                    dt.timedelta(seconds=rng.randrange(86400))
                rec = self._incident(on)
                rec["status"] = "已办结" if rng.random() < 0.9 else "处理中"
                rec["updatedAt"] = iso(on + dt.timedelta(hours=rng.randrange(1, 72)))
                out["incidents"].append(rec)
        else:
            for person in changes.arrivals + changes.departures:
                out["floating-persons"].append(self._floating(person))
            for person in changes.deaths + changes.moved_out:  # 人户分离 people who die or move out have left
                if person.residence is not None and person.uid in self.fp_ids:
                    out["floating-persons"].append(self._floating(person, self.separated_rng))
            when = lambda: stamp(day, office_second(rng))  # noqa: E731
            by_uid = {rec["_uid"]: rec for rec in self.special.values()}
            for person in changes.deaths + changes.moved_out:
                rec = by_uid.get(person.uid)
                if rec and rec["status"] == "active":
                    rec.update(status="closed", updatedAt=iso(person.changed))
                    out["special-persons"].append(dict(rec))
            active = [r for r in self.special.values() if r["status"] == "active"]
            for rec in rng.sample(active, min(len(active), 1)):
                rec.update(status="closed", updatedAt=iso(when()))
                out["special-persons"].append(dict(rec))
            for rec in self.incidents:
                if rec["status"] != "已办结" and rng.random() < 0.5:
                    rec.update(status="已办结" if rec["status"] == "处理中" else "处理中", updatedAt=iso(when()))
                    out["incidents"].append(dict(rec))
            for _ in range(max(1, len(self.world.persons) // 3000)):
                out["incidents"].append(dict(self._incident(when())))
        self._write(day, out)

    def _write(self, day: int, out: dict[str, list[dict]]) -> None:
        for stream, records in out.items():
            key = "incidentNo" if stream == "incidents" else "id"
            latest = {r[key]: {k: v for k, v in r.items() if k != "_uid"} for r in records}
            rows = sorted(latest.values(), key=lambda r: (r["updatedAt"], r[key]))
            path = self.dir / stream / f"day-{day:02d}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="\n") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
            bad = sum((SOURCE, stream, r[key]) in self.truth.quarantine for r in rows)
            self.truth.day(day, SOURCE, stream, len(rows), bad)
            self.truth.day_files(day, SOURCE, [f"{SOURCE}/{stream}/day-{day:02d}.jsonl"])


"""The ground truth a hub run is scored against, collected while sources are written."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from hub.synth.days import day_date


class Truth:
    """Entities, quarantine, faults, true grids and per-day counts, written in sorted order."""

    def __init__(self) -> None:
        self.entities: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.quarantine: dict[tuple[str, str, str], str] = {}
        self.faults: set[tuple[str, str, str, str, str]] = set()
        self.grids: dict[tuple[str, str], str] = {}
        self.days: dict[int, dict[str, dict]] = {}
        self.world: dict[str, int] = {}

    def entity(self, source: str, stream: str, key: str, etype: str, uid: str) -> None:
        self.entities.setdefault((source, stream, key), (etype, uid))

    def quarantined(self, source: str, stream: str, key: str, reason: str) -> None:
        self.quarantine.setdefault((source, stream, key), reason)

    def fault(self, source: str, stream: str, key: str, fault: str, detail: str = "") -> None:
        self.faults.add((source, stream, key, fault, detail))

    def faults_of(self, source: str, stream: str, key: str, written) -> None:
        """Record a Written value's faults and quarantine reason against one record."""
        for fault, detail in written.faults:
            self.fault(source, stream, key, fault, detail)
        if written.quarantine:
            self.quarantined(source, stream, key, written.quarantine)

    def grid(self, etype: str, uid: str, code: str) -> None:
        self.grids[(etype, uid)] = code

    def day(self, day: int, source: str, stream: str, read: int, quarantined: int = 0) -> None:
        entry = self.days.setdefault(day, {}).setdefault(source, {}).setdefault(stream, {"read": 0, "quarantined": 0})
        entry["read"] += read
        entry["quarantined"] += quarantined

    def day_extra(self, day: int, source: str, stream: str, name: str, n: int) -> None:
        entry = self.days.setdefault(day, {}).setdefault(source, {}).setdefault(stream, {"read": 0, "quarantined": 0})
        entry[name] = entry.get(name, 0) + n

    def day_files(self, day: int, source: str, files: list[str]) -> None:
        self.days.setdefault(day, {}).setdefault(source, {}).setdefault("files", []).extend(files)

    def write(self, out: Path, days: int) -> dict:
        tdir = out / "truth"
        tdir.mkdir(parents=True, exist_ok=True)
        _csv(tdir / "entities.csv", ["source", "stream", "source_key", "entity_type", "entity_uid"],
             (k + v for k, v in sorted(self.entities.items())))
        _csv(tdir / "quarantine.csv", ["source", "stream", "source_key", "reason"],
             (k + (v,) for k, v in sorted(self.quarantine.items())))
        _csv(tdir / "faults.csv", ["source", "stream", "source_key", "fault", "detail"], sorted(self.faults))
        _csv(tdir / "grid_assignment.csv", ["entity_type", "entity_uid", "grid_code"],
             (k + (v,) for k, v in sorted(self.grids.items())))
        plan = {"day0": day_date(0).isoformat(), "days": [
            {"day": k, "date": day_date(k).isoformat(), "sources": _sorted(self.days.get(k, {}))}
            for k in range(days + 1)]}
        (tdir / "days.json").write_text(json.dumps(plan, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        counts = {
            "world": dict(sorted(self.world.items())),
            "entity_records": _count(self.entities, lambda k: k[:2]),
            "entities_by_type": dict(sorted(Counter(v[0] for v in self.entities.values()).items())),
            "quarantine_by_reason": dict(sorted(Counter(self.quarantine.values()).items())),
            "quarantine_by_stream": _count(self.quarantine, lambda k: k[:2]),
            "faults_by_type": dict(sorted(Counter(f[3] for f in self.faults).items())),
        }
        (tdir / "counts.json").write_text(json.dumps(counts, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return counts


def _sorted(d: dict) -> dict:
    return {k: _sorted(v) if isinstance(v, dict) else v for k, v in sorted(d.items())}


def _count(keys, part) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for k in keys:
        source, stream = part(k)
        out.setdefault(source, {}).setdefault(stream, 0)
        out[source][stream] += 1
    return _sorted(out)


def _csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)

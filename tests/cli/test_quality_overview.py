"""Issue 18 item 9: `hub quality report` opens with one overview table and says what each warning was."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Hub


def add_extra_column(csv_path: Path, name: str) -> None:
    lines = csv_path.read_bytes().decode("gb18030").splitlines()
    lines = [lines[0] + f",{name}", *(line + ",x" if line.strip() else line for line in lines[1:])]
    csv_path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))


def test_report_opens_with_an_overview_and_names_each_warning(county: Path, hub: Hub) -> None:
    first_day = sorted(p for p in (county / "fire-safety").iterdir() if p.is_dir())[0]
    add_extra_column(first_day / "单位.csv", "内部备注")
    assert hub(county, "sync", "fire-safety", "--no-resolve").returncode == 0
    assert hub(county, "sync", "population", "--no-resolve").returncode == 0
    proc = hub(county, "quality", "report")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("overview")
    assert lines[1].split() == ["source", "stream", "rows", "pass", "rate", "quarantined", "warnings"]
    report = json.loads(hub(county, "quality", "report", "--json").stdout)
    overview = {tuple(line.split()[:2]): line.split()[2:] for line in lines[2:2 + len(report)]}
    for r in report:  # one overview line per stream, before any per-stream detail
        rows, rate, quarantined, warnings = overview[(r["source"], r["stream"])]
        assert (int(rows), int(quarantined), int(warnings)) == (r["read"], r["quarantined"], r["warnings"])
        assert rate == f"{100 * (r['read'] - r['quarantined']) / r['read']:.1f}%"
    units = next(r for r in report if r["stream"] == "units")
    assert units["warnings"] == 1 and "内部备注" in units["warning_messages"][0]
    assert f"warning in fire-safety/units: {units['warning_messages'][0]}" in proc.stdout
    assert proc.stdout.index("warning in fire-safety/units") < proc.stdout.index("fire-safety / units: read")

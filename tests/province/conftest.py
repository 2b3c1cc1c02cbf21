"""A small synthetic province (three counties with movers between them), synced once per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SECRET = "province-tests-secret"


def sync_province(config: Path) -> None:
    """Every enabled source of every county, in name order, without resolving (the test resolves)."""
    from hub.context import HubContext
    from hub.stages.sync import sync_sources

    ctx = HubContext.from_config(config)
    names = sorted(n for n, spec in ctx.config.sources.items() if spec.enabled)
    report = sync_sources(ctx, names, resolve=False)
    assert not report.failed, [(o.source, o.reason) for o in report.failed]


def share_credit_code(out: Path, head: tuple[str, str], branch: tuple[str, str]) -> str:
    """A unit in one county cites another county's unit's credit code (a chain's shop giving its head
    office's code): the same organisation has records in two counties. Returns the code."""
    import csv
    import io

    def units(county: str) -> list[Path]:
        return sorted((out / county / "fire-safety").glob("*/单位.csv"))

    code = next(row["统一社会信用代码"] for path in units(head[0])
                for row in csv.DictReader(io.StringIO(path.read_text("gb18030"))) if row["单位编号"] == head[1])
    for path in units(branch[0]):
        rows = list(csv.DictReader(io.StringIO(path.read_text("gb18030"))))
        if not rows:
            continue
        for row in rows:
            if row["单位编号"] == branch[1]:
                row["统一社会信用代码"] = code
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(text.getvalue(), encoding="gb18030")
    return code


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The province folder (hub.yaml, movers.json), its SQLite store loaded and not yet resolved."""
    from hub.synth.province import generate_province

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", SECRET)
        out = tmp_path_factory.mktemp("province")
        summary = generate_province(out, counties=3, residents=300, days=1, movers=15)
        assert summary.movers == 30
        code = share_credit_code(out, ("130102", "DW000002"), ("130104", "DW000005"))
        (out / "shared-credit-code.txt").write_text(code, encoding="utf-8")
        sync_province(out / "hub.yaml")
        yield out

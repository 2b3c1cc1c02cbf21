"""`hub review defer|undo --reason` share the console's decision log: the same rows, the same undo."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from hub.cli import app
from hub.db.models import ConsoleAction, MatchReview
from hub.db.session import transaction

runner = CliRunner()


def test_defer_then_undo_from_the_cli(county) -> None:  # type: ignore[no-untyped-def]
    config = ["--config", str(county.out / "hub.yaml")]
    pending = json.loads(runner.invoke(app, [*config, "review", "list", "--json"]).output)
    rid = pending[0]["id"]
    res = runner.invoke(app, [*config, "review", "defer", str(rid), "--by", "clerk", "--reason", "需要入户核实"])
    assert res.exit_code == 0, res.output
    assert rid not in [r["id"] for r in json.loads(runner.invoke(app, [*config, "review", "list", "--json"]).output)]
    deferred = json.loads(runner.invoke(app, [*config, "review", "list", "--status", "deferred", "--json"]).output)
    assert [r["id"] for r in deferred] == [rid]
    res = runner.invoke(app, [*config, "review", "undo", str(rid), "--by", "clerk", "--no-resolve"])
    assert res.exit_code == 0 and "back to pending" in res.output
    with transaction(county.ctx.db_url) as s:
        assert s.get(MatchReview, rid).status == "pending"
        action = s.scalar(select(ConsoleAction).where(ConsoleAction.target == "review", ConsoleAction.target_id == rid)
                          .order_by(ConsoleAction.id.desc()).limit(1))
        assert (action.action, action.note, action.username, action.undone_by) == ("defer", "需要入户核实", "clerk", "clerk")
    res = runner.invoke(app, [*config, "review", "undo", str(rid)])
    assert res.exit_code != 0  # nothing left to undo: one line, non-zero
    bad = runner.invoke(app, [*config, "review", "defer", "99999999"])
    assert bad.exit_code != 0

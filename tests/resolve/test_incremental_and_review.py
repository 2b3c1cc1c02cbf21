"""New data attaches to existing entities; steward decisions persist; merges and splits keep ids."""

from __future__ import annotations

import json
import sqlite3

from county import predicted
from sqlalchemy import select
from typer.testing import CliRunner

from hub.cli import app
from hub.db.models import EntityRedirect, MatchReview
from hub.db.session import transaction
from hub.quality.identity import citizen_id
from hub.resolve.entities import resolve_entities
from hub.resolve.review import request_review
from hub.stages.sync import sync

runner = CliRunner()


def _residents(out, n: int) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    """(ryid, name, normalised ID, phone) of active registry persons with a clean ID and a phone."""
    con = sqlite3.connect(out / "population.db")
    rows = con.execute("select ryid, xm, sfzh, lxdh from t_rk_ry where zxbz='0' and lxdh is not null "
                       "and length(sfzh)=18 and xm not like '% %' order by ryid").fetchall()
    con.close()
    good = []
    for ryid, name, sfzh, phone in rows:
        try:
            good.append((str(ryid), name.strip(), citizen_id(sfzh), phone))
        except ValueError:
            continue
    return good[10:10 + n]


def _append_case(out, parties: list[dict]) -> str:  # type: ignore[no-untyped-def]
    folder = out / "dispute-mediation"
    last = sorted(folder.glob("events-*.jsonl"))[-1]
    seq = max(json.loads(line)["seq"] for f in folder.glob("events-*.jsonl")
              for line in f.read_text(encoding="utf-8").splitlines() if line.strip().endswith("}"))
    case_no = "TJ2027010100999"
    event = {"seq": seq + 1, "ts": "2027-01-01T09:00:00+08:00", "type": "case.accepted", "case_no": case_no,
             "data": {"category": "其他", "grid_code": None, "location": "唐山镇", "summary": "噪音扰民",
                      "level": "村级", "parties": parties}}
    (folder / f"events-{int(last.stem[-8:]) + 100:08d}.jsonl").write_text(
        json.dumps(event, ensure_ascii=False) + "\n", encoding="utf-8")
    return case_no


def test_new_case_attaches_to_existing_people_then_reject_and_accept(county) -> None:  # type: ignore[no-untyped-def]
    out, ctx, _, _ = county
    (a_ryid, a_name, a_id, a_phone), (b_ryid, b_name, b_id, b_phone) = _residents(out, 2)
    before = predicted(ctx, "person")
    a_pid = before[("population", "persons", a_ryid)]
    b_pid = before[("population", "persons", b_ryid)]
    case_no = _append_case(out, [
        {"role": "申请人", "name": a_name, "id_no": a_id, "phone": None},  # deterministic, by ID
        {"role": "被申请人", "name": b_name, "id_no": None, "phone": b_phone},  # probabilistic: name + phone
    ])
    sync(ctx, "dispute-mediation", resolve=False)
    counts = resolve_entities(ctx)
    after = predicted(ctx, "person")
    assert counts["records_changed"] <= 12 and counts.get("person_created", 0) == 0
    assert after[("dispute-mediation", "cases", f"{case_no}#0")] == a_pid
    assert after[("dispute-mediation", "cases", f"{case_no}#1")] == b_pid
    assert {k: v for k, v in after.items() if k in before} == before  # nobody else moved

    # the steward rejects the model's link: it stays rejected on every later run
    party = f"dispute-mediation|cases|{case_no}#1"
    rid = request_review(ctx, "person", party, f"population|persons|{b_ryid}", 0.99)
    res = runner.invoke(app, ["--config", str(out / "hub.yaml"), "review", "reject", str(rid), "--json"])
    assert res.exit_code == 0, res.output
    for _ in range(2):
        resolve_entities(ctx)
        now = predicted(ctx, "person")
        assert now[("dispute-mediation", "cases", f"{case_no}#1")] != b_pid
        assert now[("population", "persons", b_ryid)] == b_pid
    listed = runner.invoke(app, ["--config", str(out / "hub.yaml"), "review", "list", "--status", "rejected", "--json"])
    assert [r["id"] for r in json.loads(listed.output)] == [rid]

    # accepting two different registry persons merges them: one id survives, the other redirects
    rid2 = request_review(ctx, "person", f"population|persons|{a_ryid}", f"population|persons|{b_ryid}", 0.7)
    shown = runner.invoke(app, ["--config", str(out / "hub.yaml"), "review", "show", str(rid2), "--json"])
    assert json.loads(shown.output)["left"]["fields"]["name"] == a_name and a_id not in shown.output
    assert runner.invoke(app, ["--config", str(out / "hub.yaml"), "review", "accept", str(rid2)]).exit_code == 0
    merged = predicted(ctx, "person")
    survivor = merged[("population", "persons", a_ryid)]
    assert survivor == merged[("population", "persons", b_ryid)] and survivor in (a_pid, b_pid)
    gone = b_pid if survivor == a_pid else a_pid
    with transaction(ctx.db_url) as s:
        assert s.get(EntityRedirect, gone).new_id == survivor

    # rejecting the same pair later splits it again: the absorbed id comes back, its redirect goes
    with transaction(ctx.db_url) as s:
        s.get(MatchReview, rid2).status = "pending"
    assert runner.invoke(app, ["--config", str(out / "hub.yaml"), "review", "reject", str(rid2)]).exit_code == 0
    split = predicted(ctx, "person")
    assert split[("population", "persons", a_ryid)] == a_pid and split[("population", "persons", b_ryid)] == b_pid
    with transaction(ctx.db_url) as s:
        assert s.get(EntityRedirect, gone) is None
        assert s.scalar(select(MatchReview.status).where(MatchReview.id == rid)) == "rejected"


def test_links_export_cli_and_errors(county, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out, _, _, _ = county
    target = tmp_path / "x.csv"
    res = runner.invoke(app, ["--config", str(out / "hub.yaml"), "links", "export", "--out", str(target)])
    assert res.exit_code == 0 and target.read_text(encoding="utf-8").startswith("source,stream,source_key")
    bad = runner.invoke(app, ["--config", str(out / "hub.yaml"), "review", "show", "999999"])
    assert bad.exit_code != 0

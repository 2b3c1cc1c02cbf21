"""New data attaches to existing entities; steward decisions persist; merges and splits keep ids."""

from __future__ import annotations

import csv
import json
import sqlite3

from county import predicted
from sqlalchemy import func, select
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


def _append_case(out, parties: list[dict], case_no: str = "TJ2027010100999") -> str:  # type: ignore[no-untyped-def]
    folder = out / "dispute-mediation"
    last = sorted(folder.glob("events-*.jsonl"))[-1]
    seq = max(json.loads(line)["seq"] for f in folder.glob("events-*.jsonl")
              for line in f.read_text(encoding="utf-8").splitlines() if line.strip().endswith("}"))
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


def _same_named_unit(out) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """Deliver a second unit bearing an existing shop's name, in another village; (its key, the shop's, the name)."""
    folders = sorted(p for p in (out / "fire-safety").iterdir() if p.is_dir())
    with (folders[0] / "单位.csv").open(encoding="gb18030", newline="") as f:
        rows = list(csv.DictReader(f))
    shop = next(r for r in rows if r["单位类别"] == "九小场所" and r["单位名称"].endswith(("超市", "店", "饭店")))
    other = next(r for r in rows if r["单位地址"].split("村")[0] != shop["单位地址"].split("村")[0])
    new = dict(shop, 单位编号="DW900001", 统一社会信用代码="", 单位地址=other["单位地址"], 所属网格="", 经度="", 纬度="",
               联系电话="13900009999", 更新时间="2027-01-01 09:00:00")  # its own phone: nothing ties the two
    folder = out / "fire-safety" / f"{int(folders[-1].name) + 100:08d}"
    folder.mkdir()
    with (folder / "单位.csv").open("w", encoding="gb18030", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(shop))
        writer.writeheader()
        writer.writerow(new)
    return "DW900001", shop["单位编号"], shop["单位名称"]


def test_a_party_two_units_could_be_is_queued_for_the_steward(county) -> None:  # type: ignore[no-untyped-def]
    out, ctx, _, _ = county
    new_unit, old_unit, name = _same_named_unit(out)
    case_no = _append_case(out, [{"role": "被申请人", "name": name, "id_no": None, "phone": None}], "TJ2027010200777")
    sync(ctx, "fire-safety", resolve=False)
    sync(ctx, "dispute-mediation", resolve=False)
    resolve_entities(ctx)
    party = f"dispute-mediation|cases|{case_no}#0"
    config = ["--config", str(out / "hub.yaml")]
    pending = [r for r in json.loads(runner.invoke(app, [*config, "review", "list", "--json"]).output)
               if r["left_key"] == party]
    assert sorted(r["right_key"] for r in pending) == [f"fire-safety|units|{old_unit}", f"fire-safety|units|{new_unit}"]
    assert {r["entity_type"] for r in pending} == {"organization"}
    orgs = predicted(ctx, "organization")
    assert orgs[("dispute-mediation", "cases", f"{case_no}#0")] not in (
        orgs[("fire-safety", "units", old_unit)], orgs[("fire-safety", "units", new_unit)])  # not guessed

    chosen = next(r["id"] for r in pending if r["right_key"].endswith(new_unit))
    assert runner.invoke(app, [*config, "review", "accept", str(chosen)]).exit_code == 0
    for _ in range(2):  # the decision holds on later runs, and nothing is asked twice
        resolve_entities(ctx)
        orgs = predicted(ctx, "organization")
        assert orgs[("dispute-mediation", "cases", f"{case_no}#0")] == orgs[("fire-safety", "units", new_unit)]
        assert orgs[("fire-safety", "units", new_unit)] != orgs[("fire-safety", "units", old_unit)]
        with transaction(ctx.db_url) as s:
            assert s.scalar(select(func.count()).select_from(MatchReview).where(MatchReview.left_key == party)) == 2

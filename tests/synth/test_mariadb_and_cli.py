"""--population-url into MariaDB, and the CLI's one-line errors."""

from __future__ import annotations

import os
import sqlite3

import pytest
from typer.testing import CliRunner

from hub.cli.synth import app
from hub.synth import generate

MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test"


def _mariadb_or_skip():
    from sqlalchemy import create_engine

    engine = create_engine(MARIADB)
    try:
        with engine.connect():
            return
    except Exception as exc:  # unreachable server or missing driver
        reason = f"MariaDB at 127.0.0.1:3306 unreachable: {type(exc).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_population_tables_in_mariadb_equal_the_sqlite_ones(tmp_path):
    _mariadb_or_skip()
    from sqlalchemy import create_engine, text

    generate(tmp_path / "maria", seed=9, residents=400, days=1, population_url=MARIADB)
    generate(tmp_path / "lite", seed=9, residents=400, days=1)
    assert not (tmp_path / "maria" / "population.db").exists()
    assert MARIADB in (tmp_path / "maria" / "hub.yaml").read_text(encoding="utf-8")
    engine = create_engine(MARIADB)
    try:
        with engine.connect() as conn:
            maria = conn.execute(text("SELECT ryid, xm, sfzh, csrq, hh, gxsj, zxbz FROM t_rk_ry ORDER BY ryid")).all()
            cols = {r[0]: r[1] for r in conn.execute(text(
                "SELECT column_name, column_type FROM information_schema.columns "
                "WHERE table_schema='test' AND table_name='t_rk_ry'"))}
    finally:
        engine.dispose()
    lite = sqlite3.connect(tmp_path / "lite" / "population.db").execute(
        "SELECT ryid, xm, sfzh, csrq, hh, gxsj, zxbz FROM t_rk_ry ORDER BY ryid").fetchall()
    assert [tuple(r[:5]) + (str(r[5]), r[6]) for r in maria] == [tuple(r) for r in lite]
    assert cols["ryid"] == "bigint(20)" and cols["sfzh"] == "varchar(20)" and cols["xbdm"] == "char(1)"


@pytest.mark.parametrize("args, message", [
    ([], "--out DIR is required"),
    (["--out", "x", "--residents", "5"], "--residents must be at least 100"),
    (["--out", "x", "--noise", "loud"], "unknown noise profile 'loud'"),
    (["--out", "x", "--population-url", "mysql+pymysql://root@127.0.0.1:1/test"], "population database"),
    (["serve", "--data", "nowhere", "--token", "t"], "no public-security data"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


def test_cli_writes_a_county_and_prints_a_summary(tmp_path):
    result = CliRunner().invoke(app, ["--out", str(tmp_path), "--residents", "300", "--days", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert '"population_persons"' in result.output and (tmp_path / "hub.yaml").is_file()

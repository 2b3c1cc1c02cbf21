"""A local Airflow installation for the demo and the tests: its home, its settings, its metadata DB.

Airflow reads its configuration when first imported, so the environment is prepared before any
``import airflow``: callers either set it in this process first thing, or run Airflow in a child
process with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hub.errors import HubError

REPO_DAGS = Path(__file__).resolve().parents[2] / "dags"


def airflow_env(home: Path, *, hub_config: Path, dags_folder: Path = REPO_DAGS, metadata_url: str | None = None,
                executor: str = "LocalExecutor", extra: dict[str, str] | None = None) -> dict[str, str]:
    home = home.resolve()
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder.resolve()),
        # Airflow imports every .py in its plugins folder: keep it away from our plugins/.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "airflow-plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url or f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "HUB_CONFIG": str(hub_config.resolve()),
        "NO_PROXY": "*",
    }
    if metadata_url and metadata_url.startswith("postgresql+psycopg://"):
        # psycopg 3 is async-capable; without this Airflow reaches for asyncpg, which we do not ship
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = metadata_url
    env.update(extra or {})
    (home / "airflow-plugins").mkdir(parents=True, exist_ok=True)
    return env


def apply(env: dict[str, str]) -> None:
    """Set the environment in this process; only before Airflow is imported."""
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != env["AIRFLOW_HOME"]:
        raise HubError("Airflow was imported before its environment was prepared")
    os.environ.update(env)


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def migrate_metadata(env: dict[str, str]) -> None:
    """``airflow db migrate`` on the metadata DB (fast when already current)."""
    proc = subprocess.run([airflow_bin(), "db", "migrate"], env={**os.environ, **env}, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HubError(f"airflow db migrate failed in {env['AIRFLOW_HOME']}: {tail[0]}")

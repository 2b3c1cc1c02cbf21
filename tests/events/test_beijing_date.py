"""'Today' is Beijing's date on a UTC server: ages, future-date checks and tags count on it.

17:30 UTC on 31 December is 01:30 on 1 January in Beijing. A child born that Beijing morning has a
registry birth date of 1 January, which is not in the future, and someone born on 1 January 1967
is 60 in Beijing already.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

PROBE = """
import datetime as dt, json
from hub.api.routers.persons import age_on, today as api_today
from hub.quality.checks import _birth_date_range
from hub.quality.vector import today as gate_today
born = dt.date(2027, 1, 1)
print(json.dumps({"server": str(dt.date.today()), "api": str(api_today()), "gate": str(gate_today()),
                  "future": _birth_date_range(born, {}), "age": age_on(dt.date(1967, 1, 1), api_today())}))
"""


def test_a_utc_server_counts_on_beijings_date() -> None:
    if shutil.which("faketime") is None:
        pytest.fail("faketime is missing: `make system-deps` installs it")
    out = subprocess.run(["faketime", "2026-12-31 17:30:00", sys.executable, "-c", PROBE], capture_output=True,
                         text=True, env={**os.environ, "TZ": "UTC"}, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["server"] == "2026-12-31"  # the host's own date is still the old year
    assert seen["api"] == seen["gate"] == "2027-01-01"
    assert seen["future"] is None
    assert seen["age"] == 60

"""A sync whose only read is rows read again (population's settle window, right after a change) lands
nothing and, since issue 19, does not import pandas for it (~0.3 CPU s of a nothing-new `hub sync --all`)."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, sys
from pyarrow.lib import StringBuilder
import pyarrow as pa
from hub.privacy import Vault
from hub.stages.extract import ReadAgain

def batch(keys):
    b = StringBuilder(); b.append_values(keys)
    return pa.RecordBatch.from_arrays([b.finish()], names=["ryid"])

vault = Vault("read-again-secret")
first = ReadAgain(lambda: vault, None)
first.new_rows(batch(["1", "2"]))
again = ReadAgain(lambda: vault, first.read_now)
landed = again.new_rows(batch(["1", "2"]))
out = {"landed": landed.num_rows, "schema": landed.schema.names, "pandas": "pandas" in sys.modules}
mixed = again.new_rows(batch(["2", "3"]))
out["mixed"] = mixed.column("ryid").to_pylist()
print(json.dumps(out))
"""


def test_rows_read_again_land_nothing_without_pandas() -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == {"landed": 0, "schema": ["ryid"], "pandas": False, "mixed": ["3"]}

"""Population's columns become text without importing pandas (issue 19: ~0.3 CPU s of every sync that
reads a row), and the text is what the Arrow casts gave before."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys

import pyarrow as pa
from hub_population.changes import text_array

COLUMNS = [
    ["张秀英", None, "", "0"],
    [10000001, None, -5, 2**62],
    [None, None],
    [dt.date(1947, 2, 1), None],
    [dt.datetime(2018, 2, 19, 14, 0, 58), None],
    [dt.datetime(2018, 2, 19, 14, 0, 58, 500)],
    [decimal.Decimal("1.50"), 3, None],
    [True, False, None],
    [b"\xe5\xbc\xa0", None],
]


def cast_by_arrow(values: list) -> pa.Array:
    """The former path: Arrow's own string array, or the typed array cast to text."""
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        typed = pa.array(values)
        return typed.cast(pa.string())


def test_text_and_int_columns_are_the_text_arrow_gave() -> None:
    assert text_array(COLUMNS[0]).to_pylist() == ["张秀英", None, "", "0"]
    assert text_array(COLUMNS[0]).equals(cast_by_arrow(COLUMNS[0]))
    assert text_array(COLUMNS[1]).equals(cast_by_arrow(COLUMNS[1]))
    assert text_array(COLUMNS[1]).to_pylist() == ["10000001", None, "-5", str(2**62)]
    assert text_array(COLUMNS[2]).equals(cast_by_arrow(COLUMNS[2]))
    assert text_array(COLUMNS[3]).to_pylist() == ["1947-02-01", None]
    assert text_array(COLUMNS[4]).to_pylist() == ["2018-02-19 14:00:58", None]
    assert text_array(COLUMNS[5]).to_pylist() == ["2018-02-19 14:00:58.000500"]
    assert text_array(COLUMNS[6]).to_pylist() == ["1.50", "3", None]
    assert text_array(COLUMNS[7]).to_pylist() == ["True", "False", None]
    assert text_array(COLUMNS[8]).to_pylist() == ["张", None]
    assert all(text_array(c).type == pa.string() for c in COLUMNS)


def test_text_and_int_columns_do_not_import_pandas() -> None:
    child = ("import sys\nfrom hub_population.changes import text_array\n"
             "text_array(['a', None]); text_array([1, None, 3]); text_array([None])\n"
             "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_batch_marks_cancelled_rows_without_importing_pandas() -> None:
    child = """
import json, sys
from hub_population.changes import to_batch
from hub_population.tables import PERSONS
names = list(PERSONS.columns)
rows = [[1, "甲", None, None, None, None, None, None, None, None, "2026-11-05 09:00:00", "0", None],
        [2, "乙", None, None, None, None, None, None, None, None, "2026-11-05 09:00:00", " 1 ", ""],
        [3, "丙", None, None, None, None, None, None, None, None, "2026-11-05 09:00:00", "1", "迁出"],
        [4, "丁", None, None, None, None, None, None, None, None, "2026-11-05 09:00:00", None, "迁出"]]
batch = to_batch(rows, names, PERSONS)
print(json.dumps([batch.column("_op").to_pylist(), batch.column("_reason").to_pylist(),
                  batch.column("ryid").to_pylist(), "pandas" in sys.modules], ensure_ascii=False))
"""
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [["upsert", "delete", "delete", "upsert"], [None, "cancelled", "迁出", None],
                               ["1", "2", "3", "4"], False]

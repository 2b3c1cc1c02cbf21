"""A stored row's texts built down the columns are the row-at-a-time texts, byte for byte.

Stored content hashes are compared with every later run's, so the column-wise builder
(``hub.stages.row_text``) must write exactly what ``json.dumps(..., sort_keys=True)`` and orjson
wrote a row at a time; the stored data must decrypt to the same values under the same blind indexes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

from hub.db.session import json_text, json_value
from hub.stages.row_text import HASHED, STORED, row_texts, value_texts
from hub.stages.stored import DATA, DIGEST, _stored_by_column, _stored_by_row
from tests.quality.conftest import make_context, write_config

AWKWARD = {
    "text": ["plain", 'a "quoted" word', "back\\slash", "line\nbreak", "del\x7f", "中文　全角", "\u2028", "", None],
    "count": [0, -5, 2**62, None, 7, 1, 2, 3, 4],
    "flag": [True, False, None, True, False, True, False, True, None],
    "share": [0.1, 1e16, float("nan"), -0.0, None, 3.0, math.inf, 2.5, 1 / 3],
    "born": [dt.date(2026, 3, 5), dt.date(999, 1, 1), None, dt.date(1, 1, 1), dt.date(9999, 12, 31),
             dt.date(2000, 2, 29), None, dt.date(1970, 1, 1), dt.date(2026, 12, 6)],
    "seen": [dt.datetime(2026, 3, 5, 8), dt.datetime(2026, 3, 5, 8, 0, 0, 120), None, dt.datetime(999, 1, 2, 3, 4, 5),
             dt.datetime(2026, 1, 1, 0, 0, 0, 999999), dt.datetime(2026, 1, 1), None, dt.datetime(1, 1, 1),
             dt.datetime(2026, 12, 6, 23, 59, 59, 1)],
    "nothing": [None] * 9,
}


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return value.isoformat() if isinstance(value, dt.date) else value


def test_awkward_values_print_as_the_row_encoders_print_them() -> None:
    table = pa.table(AWKWARD)
    for style, whole in ((HASHED, lambda row: json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)),
                         (STORED, json_text)):
        texts = {name: value_texts(table.column(name).combine_chunks(), style,
                                   temporal=pa.types.is_temporal(table.schema.field(name).type))
                 for name in table.column_names}
        built = row_texts(texts, style, table.num_rows)  # type: ignore[arg-type]
        assert built is not None
        expected = [whole({k: _jsonable(v) for k, v in row.items()}) for row in table.to_pylist()]
        assert built.to_pylist() == expected


def test_a_value_orjson_refuses_sends_the_batch_the_row_way() -> None:
    huge = pa.array([2**70, 1], pa.decimal128(38, 0))  # orjson writes no Decimal: json_text falls back whole
    assert value_texts(huge, STORED, temporal=False) is None
    assert value_texts(huge, HASHED, temporal=False).to_pylist() == [json.dumps(str(2**70)), '"1"']


@pytest.fixture(scope="module")
def validated(county: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Every file and database source of the small county extracted and validated (no Data Docs)."""
    from hub.stages.extract import extract
    from hub.stages.ledger import new_run_id, start_run
    from hub.stages.validate import validate

    ctx = make_context(write_config(tmp_path_factory.mktemp("row-text"), county))
    runs = []
    for source in ("population", "civil-affairs", "fire-safety", "dispute-mediation"):
        run_id = new_run_id()
        start_run(ctx, source, run_id)
        extract(ctx, source, run_id)
        validate(ctx, source, run_id, docs=False)
        runs.append((source, run_id))
    return ctx, runs


def test_stored_parts_by_column_equal_the_row_path_on_every_shipped_contract(validated) -> None:  # type: ignore[no-untyped-def]
    from hub.connector.landing import RunFolder, part_path, read_table
    from hub.stages.extract import read_extract_info

    ctx, runs = validated
    compared: dict[str, int] = {}
    for source, run_id in runs:
        extracted = read_extract_info(ctx, source, run_id)
        for stream, ext in extracted.streams.items():
            contract = ctx.contracts.get(extracted.connector, stream)
            for index in range(ext.files):
                table = read_table(part_path(RunFolder(ctx.landing, source, run_id).stream_dir(stream), "valid", index))
                if not table.num_rows:
                    continue
                batch = table.combine_chunks().to_batches()[0]
                by_column = _stored_by_column(contract, ctx.vault, batch)
                if by_column is None:  # a tombstone keyed by personal data: the row path only
                    continue
                by_row = _stored_by_row(contract, ctx.vault, batch)
                assert by_column.column(DIGEST).to_pylist() == by_row.column(DIGEST).to_pylist(), (source, stream)
                for new, old in zip(by_column.column(DATA).to_pylist(), by_row.column(DATA).to_pylist(), strict=True):
                    new_data, old_data = json_value(new), json_value(old)
                    assert list(new_data) == list(old_data)  # same keys, same order
                    for key, value in old_data.items():
                        if key.endswith("_enc") and value is not None:  # random nonces: compare the clear values
                            assert ctx.vault.decrypt(new_data[key]) == ctx.vault.decrypt(value)
                            new_data[key] = value
                    assert json_text(new_data) == old  # every other byte alike
                compared[source] = compared.get(source, 0) + batch.num_rows
    assert compared["population"] > 1000 and compared["civil-affairs"] > 0  # civil affairs: keyed by citizen ID


def test_a_stored_part_is_made_by_whichever_process_claims_it_first(tmp_path: Path) -> None:
    from hub.stages.stored import claim_stored

    assert claim_stored(tmp_path, 3) is True  # load, waiting for part 3, takes it
    assert claim_stored(tmp_path, 3) is False  # the validator, done with part 3's checks, leaves it
    assert claim_stored(tmp_path, 4) is True

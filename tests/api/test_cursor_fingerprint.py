"""Cursor fingerprints are kept once computed: a kept one is the one computed afresh, and filters that
differ only in a value's type (1, True, "1") never share one."""

from __future__ import annotations

import hashlib
import json

from hub.api import pagination


def _fresh(filters: dict) -> str:  # type: ignore[type-arg]
    return hashlib.sha256(json.dumps(filters, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:10]


def test_kept_fingerprints_equal_fresh_ones() -> None:
    pagination._FINGERPRINTS.clear()
    cases = [{"grid": "130203101001", "tag": None, "age_min": None}, {"tag": None, "grid": "130203101001", "age_min": None},
             {"age_min": 1}, {"age_min": True}, {"age_min": "1"}, {"age_min": 1.0}, {"name": "张三", "grid": None}]
    for _ in range(2):  # computed, then kept
        assert [pagination.fingerprint(c) for c in cases] == [_fresh(c) for c in cases]
    assert len({pagination.fingerprint(c) for c in cases[2:6]}) == 4  # 1, true, "1", 1.0: four JSON texts
    assert pagination.fingerprint({"x": [1, 2]}) == _fresh({"x": [1, 2]})  # unhashable: computed every time

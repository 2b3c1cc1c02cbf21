"""Normalisation edges, and the vectorised path agreeing with the scalar normalisers value by value."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from hub.quality.identity import citizen_id, credit_code, gender, name, phone, relation
from hub.quality.normalize import Invalid, code, date, datetime, integer, text
from hub.quality.vector import normalize_array

GOOD_ID = "11010519491231002X"  # a correct check character (X)


@pytest.mark.parametrize("raw, expected", [
    ("2026-03-05", dt.date(2026, 3, 5)), ("2026/3/5", dt.date(2026, 3, 5)), ("2026.3.5", dt.date(2026, 3, 5)),
    ("2026年3月5日", dt.date(2026, 3, 5)), ("20260305", dt.date(2026, 3, 5)), (" 2026-03-05 ", dt.date(2026, 3, 5)),
    ("2026-03-05 08:30:00", dt.date(2026, 3, 5)), (46086, dt.date(2026, 3, 5)), (46086.0, dt.date(2026, 3, 5)),
    ("46086", dt.date(2026, 3, 5)), (18264, dt.date(1950, 1, 1)), (47484, dt.date(2030, 1, 1)), ("", None), (None, None),
])
def test_date_variants_and_excel_serials(raw: object, expected: dt.date | None) -> None:
    assert date(raw) == expected


@pytest.mark.parametrize("raw", ["2026-02-30", "20261305", "yesterday", "2026-3"])
def test_impossible_dates_are_date_format(raw: str) -> None:
    with pytest.raises(Invalid) as err:
        date(raw)
    assert err.value.reason == "date_format"


def test_text_trims_and_folds_full_width() -> None:
    assert text("  ＡＢＣ１２３　东村  ") == "ABC123 东村"
    assert code(" 1302 0310 1201 ") == "130203101201" and code(12.0) == "12"
    assert integer("１２") == 12 and datetime("2026-10-30T08:00:00Z") == dt.datetime(2026, 10, 30, 16)


def test_names_simplified_and_spaces_dropped() -> None:
    assert name("張 三豐") == "张三丰" and name("阿依古丽•买买提") == "阿依古丽·买买提"


@pytest.mark.parametrize("raw, expected", [
    (GOOD_ID, GOOD_ID), (GOOD_ID.lower(), GOOD_ID), (" 110105 19491231 002x ", GOOD_ID),
    ("１１０１０５１９４９１２３１００２Ｘ", GOOD_ID),
    ("110105491231002", GOOD_ID),  # 15 -> 18: century 19 and a computed check character
])
def test_citizen_id_normalised(raw: str, expected: str) -> None:
    assert citizen_id(raw) == expected


@pytest.mark.parametrize("raw, reason", [
    (1.10105194912310e17, "id_numeric_cell"), ("1.10105194912310E+17", "id_numeric_cell"),
    ("110105194912310021", "id_checksum"), ("11010519491331002X", "id_birth_date"),
    ("1101051949123100", "id_format"), ("13020319S002296042", "id_format"),
])
def test_citizen_id_refused_not_repaired(raw: object, reason: str) -> None:
    with pytest.raises(Invalid) as err:
        citizen_id(raw)
    assert err.value.reason == reason


def test_credit_code_and_phone_and_gender() -> None:
    assert credit_code("91110000600037341l") == "91110000600037341L"
    for bad, reason in (("91110000600037341A", "credit_code_checksum"), ("9111000060003734", "credit_code_format")):
        with pytest.raises(Invalid) as err:
            credit_code(bad)
        assert err.value.reason == reason
    assert phone("+86 138-1234-5678") == "13812345678" and phone("0315-1234567") == "03151234567"
    with pytest.raises(Invalid):
        phone("12345")
    assert (gender("1"), gender("女"), gender("9")) == ("M", "F", "U")


CORPUS = {
    "citizen_id": [GOOD_ID, GOOD_ID.lower(), " 110105 19491231 002x", "110105491231002", "110105194912310021",
                   "11010519491331002X", "110105194902300021", "1.10105194912310E+17", "", None, "１１０１０５１９４９１２３１００２Ｘ", "abc"],
    "phone": ["13812345678", "+86 138 1234 5678", "（0315）1234567", "12345", "", None, "１３８１２３４５６７８"],
    "name": ["张三", "張三", " 李 四 ", "阿依古丽.买买提", "", None, "Ｊｏｈｎ"],
    "text": ["  a  b ", "ＡＢＣ", "", None, "东村\u3000一组"],
    "code": [" 12 3 ", "１２", "", None],
    "date": ["20260305", "2026-03-05", "2026/3/5", "2026-02-30", "46086", "", None, "x"],
    "datetime": ["2026-10-30 08:00:00", "2026-10-30T08:00:00", "2026-10-30T08:00:00+08:00", "2026-10-30", "bad", None],
    "gender": ["1", "2", "男", "x", None],
}


@pytest.mark.parametrize("kind", sorted(CORPUS))
def test_vectorised_equals_scalar(kind: str) -> None:
    from hub.quality.normalize import normalizer

    values = CORPUS[kind]
    out = normalize_array(kind, pa.array(values, pa.string()))
    bad = dict(zip(out.bad_rows.tolist(), out.bad, strict=True))
    for i, raw in enumerate(values):
        try:
            expected, reason = normalizer(kind)(raw), None
        except Invalid as exc:
            expected, reason = None, exc.reason
        assert out.values[i].as_py() == expected, (kind, raw)
        assert (bad[i].reason if i in bad else None) == reason, (kind, raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026/3/5 08:00:00", dt.datetime(2026, 3, 5, 8, 0, 0)),  # fire-safety 更新时间 keeps its time of day
        ("2026-03-05 8:07", dt.datetime(2026, 3, 5, 8, 7)),
        ("2026-03-05T08:00:00+08:00", dt.datetime(2026, 3, 5, 8, 0, 0)),  # on the departments' clock
        ("2026-03-05T00:30:00Z", dt.datetime(2026, 3, 5, 8, 30, 0)),  # the same clock, whatever zone written
        ("2026-03-04T23:30:00-01:00", dt.datetime(2026, 3, 5, 8, 30, 0)),
        ("2026.3.5", dt.datetime(2026, 3, 5)),
    ],
)
def test_datetime_variants_keep_the_time_of_day(raw: str, expected: dt.datetime) -> None:
    assert datetime(raw) == expected


def test_impossible_datetime_is_date_format() -> None:
    with pytest.raises(Invalid) as err:
        datetime("2026/2/30 08:00")
    assert err.value.reason == "date_format"


def test_to_simplified_agrees_with_opencc_and_skips_only_what_has_nothing_to_convert() -> None:
    import random

    import opencc

    from hub.quality.simplified import dictionary_entries, to_simplified, traditional_chars
    from hub.synth.names import given_name, surname

    rng = random.Random(11)
    t2s, s2t = opencc.OpenCC("t2s"), opencc.OpenCC("s2t")
    plain = [surname(rng) + given_name(rng, rng.choice("12")) for _ in range(3000)] + [f"唐山镇东村{n}组{n * 7}号" for n in range(1, 200)]
    written = plain + [s2t.convert(x) for x in plain[:1000]] + ["張偉", "長樂鄉東村3組", "臺灣路", "ABC-12"]
    assert [to_simplified(x) for x in written] == [t2s.convert(x) for x in written]
    assert to_simplified("張偉") == "张伟" and to_simplified("長樂鄉") == "长乐乡"
    # every phrase and character of OpenCC's t2s dictionaries, alone and inside plain text
    entries = [key for key, _ in dictionary_entries()]
    assert [to_simplified(f"东村{k}号") for k in entries] == [t2s.convert(f"东村{k}号") for k in entries]
    # and the skip is what makes it cheap: plain simplified names and addresses are not converted at all
    assert sum(traditional_chars().isdisjoint(x) for x in plain) >= 0.99 * len(plain)


def test_relation_to_head_is_the_registrys_code_whoever_wrote_it() -> None:
    """A roster writes 孙子女 where the registry writes 30: both land as 30, so a golden person's
    relation never holds the word (it overflowed PostgreSQL's two-character column)."""
    assert [relation(v) for v in ("02", 2, 2.0, "户主", "配偶", "妻", " 子女 ", "长女", "孙子女", "外孙女",
                                  "父亲", "其他", "９９", None, "")] == [
        "02", "02", "02", "02", "10", "10", "20", "20", "30", "30", "50", "99", "99", None, None]
    with pytest.raises(Invalid) as bad:
        relation("邻居家的")
    assert bad.value.reason == "enum"

"""Citizen IDs (GB 11643) and unified social credit codes (GB 32100) for the world.

Check characters come from python-stdnum's arithmetic; its validate() is stricter than
the standards, so we only use the parts.
"""

from __future__ import annotations

import datetime as dt
import random

from stdnum.cn import ric, uscc

LOCAL_COUNTY = "130203"
"""路北区, 唐山市: where the township's registered residents were born (mostly)."""

HEBEI_COUNTIES = ["130202", "130204", "130205", "130207", "130208", "130281", "130283", "130224", "130225"]

OTHER_PROVINCES: list[tuple[str, str]] = [
    ("410102", "河南省郑州市"), ("411302", "河南省南阳市"), ("411602", "河南省周口市"),
    ("510104", "四川省成都市"), ("511302", "四川省南充市"), ("500101", "重庆市"),
    ("430102", "湖南省长沙市"), ("360102", "江西省南昌市"), ("420102", "湖北省武汉市"),
    ("370102", "山东省济南市"), ("371302", "山东省临沂市"), ("220102", "吉林省长春市"),
    ("210102", "辽宁省沈阳市"), ("150102", "内蒙古自治区呼和浩特市"), ("140105", "山西省太原市"),
    ("610102", "陕西省西安市"), ("620102", "甘肃省兰州市"), ("450102", "广西壮族自治区南宁市"),
    ("530102", "云南省昆明市"), ("520102", "贵州省贵阳市"), ("340102", "安徽省合肥市"),
    ("341202", "安徽省阜阳市"), ("230102", "黑龙江省哈尔滨市"), ("320102", "江苏省南京市"),
]

_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class IdRegistry:
    """Hands out unique citizen IDs: region + birth date + a sequence whose parity is the sex."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def issue(self, rng: random.Random, region: str, birth: dt.date, sex: str) -> str:
        ymd = birth.strftime("%Y%m%d")
        for _ in range(200):
            seq = rng.randrange(0, 100) * 10 + rng.randrange(0, 10, 2) + (1 if sex == "1" else 0)
            body = f"{region}{ymd}{seq:03d}"
            if body not in self._used:
                self._used.add(body)
                return body + ric.calc_check_digit(body + "0")
        raise RuntimeError(f"ran out of sequence numbers for {region} {ymd}")


def to_15(id18: str) -> str:
    """First-generation form: no century, no check character."""
    return id18[:6] + id18[8:17]


def birth_of(id18: str) -> dt.date:
    return dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714): 8 characters and a MOD 11 check."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(rng: random.Random, authority: str, kind: str, region: str = LOCAL_COUNTY) -> str:
    """A valid unified social credit code; authority may be a letter (N, Y, A are real)."""
    body = authority + kind + region + _org_code(rng)
    return body + uscc.calc_check_digit(body)


def wrong_credit_check(code: str, rng: random.Random) -> str:
    choices = [c for c in _ORG_ALPHABET if c != code[-1]]
    return code[:-1] + rng.choice(choices)


def ric_check(body17: str) -> str:
    """The MOD 11-2 check character for 17 leading characters."""
    return ric.calc_check_digit(body17 + "0")

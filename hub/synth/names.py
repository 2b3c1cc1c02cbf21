"""Chinese personal names and phone numbers drawn from Faker zh_CN's own lists.

We sample Faker's lists with our own seeded Random instead of calling Faker per person:
it is ~50x faster at county scale and does not depend on the wall clock.
"""

from __future__ import annotations

import random
from itertools import accumulate

from faker.providers.person.zh_CN import Provider as _Person
from faker.providers.phone_number.zh_CN import Provider as _Phone

MISREAD_SURNAMES = set("曾单解区仇查朴盖乐覃尉缪翟种秘过华繁召句员折宿车柏薄卜重长都和那阿哈居但由信幸斯")
"""Surnames pypinyin's lazy_pinyin reads with the wrong (non-surname) pronunciation."""

_surnames = [(s, w) for s, w in _Person.last_names.items() if len(s) == 1 and s not in MISREAD_SURNAMES]
SURNAMES = [s for s, _ in _surnames]
_SURNAME_CUM = list(accumulate(w for _, w in _surnames))
_MALE = list(_Person.first_names_male)
_FEMALE = list(_Person.first_names_female)
_MALE_CHARS = sorted({c for n in _MALE for c in n})
_FEMALE_CHARS = sorted({c for n in _FEMALE for c in n})

RARE_GIVEN = ["䶮", "䲜", "㛃", "䴔", "䒟"]
"""Given-name characters outside GBK (CJK Ext. A): they only encode in GB18030."""

PHONE_PREFIXES = [str(p) for p in _Phone.phonenumber_prefixes]


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0]


def given_name(rng: random.Random, sex: str) -> str:
    names, chars = (_MALE, _MALE_CHARS) if sex == "1" else (_FEMALE, _FEMALE_CHARS)
    if rng.random() < 0.5:
        return rng.choice(names)
    return rng.choice(chars) + rng.choice(chars)


def rare_given_name(rng: random.Random) -> str:
    return rng.choice(RARE_GIVEN)


def phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"

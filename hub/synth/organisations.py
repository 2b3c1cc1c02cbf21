"""Organisations: the township's key units, village bodies, shops and factories.

Each gets a valid unified social credit code (including the letter-prefixed N…, Y…, A…
kinds stdnum's validate() wrongly rejects) and residents as legal and responsible persons.
"""

from __future__ import annotations

import datetime as dt
import random

from hub.synth import identity, names
from hub.synth.days import DAY0, history_stamp
from hub.synth.grids import Grid
from hub.synth.world import Organisation, Person, World

KEY, GENERAL, SMALL = "消防安全重点单位", "一般单位", "九小场所"
TOWNSHIP_UNITS = [  # (name suffix, registration authority, kind, fire category)
    ("人民政府", "1", "1", GENERAL), ("中心卫生院", "1", "2", KEY), ("中心小学", "1", "2", KEY),
    ("初级中学", "1", "2", KEY), ("敬老院", "5", "2", KEY), ("派出所", "1", "1", GENERAL),
    ("老年人协会", "Y", "1", GENERAL), ("民兵训练基地", "A", "1", GENERAL),
]
SHOP_KINDS = ["便利店", "超市", "小吃店", "饭店", "理发店", "五金店", "诊所", "网吧", "旅馆", "农资店", "棋牌室"]
FIRM_WORDS = ["鑫达", "宏远", "华泰", "金盛", "永丰", "恒通", "利民", "泰和", "瑞祥", "众兴", "冀东", "海港"]
FIRM_TRADES = ["陶瓷", "机械", "建材", "服装", "食品", "钢材", "包装", "家具", "汽配", "物流"]
PLACE_PREFIXED = 0.3  # a shop whose name is unique still often carries its village (东村王记超市)
LOOK_ALIKE_VILLAGES = 0.1  # villages where two shops' names are one (same-sounding) character apart
SAME_SOUND_SURNAME = {"王": "汪", "张": "章", "刘": "柳", "徐": "许", "吴": "武", "何": "贺", "朱": "诸", "胡": "扈",
                      "杨": "阳", "林": "琳", "黄": "皇", "赵": "照", "高": "郜", "梁": "良", "李": "黎"}
SAME_NAME_KEPT = 0.05  # a name taken in another village stays bare (5%): the genuinely ambiguous duplicates


def build_organisations(world: World, rng: random.Random) -> list[Organisation]:
    adults: dict[str, list[Person]] = {}
    rare: list[Person] = []
    for p in world.persons:
        if p.household is not None and 25 <= p.age_on(DAY0) <= 65:
            adults.setdefault(p.household.village.code, []).append(p)
            if any(c in names.RARE_GIVEN for c in p.name):
                rare.append(p)
    orgs = world.organisations
    firm_names: set[str] = set()
    shop_names: dict[str, set[str]] = {}  # name -> village codes using it

    def add(name: str, authority: str, kind: str, category: str, village_code: str) -> None:
        village = next(v for v in world.villages if v.code == village_code)
        group = rng.choice(village.children)
        pool = adults.get(village_code) or [p for ps in adults.values() for p in ps]
        responsible = rng.choice(pool)
        if rare and len(orgs) % 50 == 7:
            responsible = rare[(len(orgs) // 50) % len(rare)]
        legal = responsible if category == SMALL else rng.choice(pool)
        credit = identity.credit_code(rng, authority, kind, world.county or identity.LOCAL_COUNTY)
        orgs.append(Organisation(
            uid=f"O{len(orgs) + 1:06d}", unit_no=f"DW{len(orgs) + 1:06d}", name=name, credit=credit,
            category=category, authority=authority + kind, building=world.building_in(group, residential=False),
            legal_rep=legal, responsible=responsible,
            phone=responsible.phone or f"0315-{rng.randrange(2000000, 9999999)}"))

    for town in world.townships:
        centre = town.children[-1].code
        for suffix, authority, kind, category in TOWNSHIP_UNITS:
            add(town.name + suffix, authority, kind, category, centre)
        add(f"{town.name}加油站", "9", "1", KEY, town.children[0].code)
        for village in town.children:
            people = len(adults.get(village.code, [])) * 2
            if village.is_community:
                add(f"{village.name}居民委员会", "5", "4", GENERAL, village.code)
            else:
                add(f"{village.name}村民委员会", "5", "4", GENERAL, village.code)
                add(f"{town.name}{village.name}股份经济合作社", "N", "2", GENERAL, village.code)
            for _ in range(max(2, people // 150)):
                add(_shop_name(rng, town, village, shop_names), "9", "2", SMALL, village.code)
            for _ in range(max(1, people // 800)):
                name = _firm_name(rng, firm_names)
                add(name, "9", "1", KEY if rng.random() < 0.3 else GENERAL, village.code)
    _look_alikes(orgs, add, random.Random(rng.random()))
    return orgs


def _look_alikes(orgs: list[Organisation], add, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Two different small firms in one village with names one character apart (王记超市 and 汪记超市),
    as the spec says happens: for one village in ten, a shop whose surname sounds like a neighbour's.
    Drawn after every other organisation, so the others keep their names and numbers."""
    names = {o.name for o in orgs}
    shops = [o for o in orgs if o.category == SMALL and "记" in o.name]
    by_village: dict[str, list[Organisation]] = {}
    for o in shops:
        by_village.setdefault(o.building.grid.code[:12], []).append(o)
    for code in sorted(by_village):
        if rng.random() >= LOOK_ALIKE_VILLAGES:
            continue
        shop = rng.choice(by_village[code])
        at = shop.name.index("记") - 1
        twin = SAME_SOUND_SURNAME.get(shop.name[at])
        name = shop.name[:at] + twin + shop.name[at + 1:] if twin else None
        if name and name not in names:
            names.add(name)
            add(name, "9", "2", SMALL, code)


def _shop_name(rng: random.Random, town: Grid, village: Grid, taken: dict[str, set[str]]) -> str:
    """王记超市, or 东村王记超市 / 唐山镇东村王记超市 where the bare name is taken elsewhere (as real
    shops in one township tell themselves apart); never twice in one village, sometimes twice in a township."""
    place = village.short_name if village.is_community else village.name
    while True:  # one village has one 王记超市
        base = f"{names.surname(rng)}记{rng.choice(SHOP_KINDS)}"
        if village.code not in taken.get("#" + base, ()):
            break
    taken.setdefault("#" + base, set()).add(village.code)
    if base in taken and rng.random() < SAME_NAME_KEPT:
        name = base  # a genuine duplicate: nothing in the name says which village
    else:
        options = [f"{place}{base}", f"{town.name}{place}{base}"]
        if base not in taken:
            options.insert(0 if rng.random() >= PLACE_PREFIXED else 1, base)
        name = next((n for n in options if n not in taken), options[-1])
    taken.setdefault(name, set()).add(village.code)
    return name


def _firm_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = f"唐山{rng.choice(FIRM_WORDS)}{rng.choice(FIRM_TRADES)}有限公司"
        if name not in taken or len(taken) > 100:
            if name in taken:
                name = name.replace("有限公司", f"第{len(taken)}分公司")
            taken.add(name)
            return name


def add_floating(world: World, rng: random.Random, count: int, changed: dt.datetime | None = None) -> list[Person]:
    """Migrants living in the township, registered in other provinces (not in t_rk_ry)."""
    out = []
    for _ in range(count):
        group = world.pick_group()
        region = rng.choice(identity.OTHER_PROVINCES)[0]
        sex = rng.choice("12")
        p = world.new_person(sex, world.birth_for_age(rng.randrange(18, 56)), world.building_in(group), region,
                             changed=changed or history_stamp(rng, dt.date(2020, 1, 1)))
        p.floating = True
        p.relation = ""
        out.append(p)
    return out

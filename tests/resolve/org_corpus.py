"""An adversarial corpus of organisation references, written from legacy-systems.md ("How the same
thing is written in different departments"), not from hub.synth: a county of its own (石家庄市藁城区,
the spec's example), 160+ organisations, 500+ references with the truth.

Each organisation has its fire-safety unit record; firms and shops are named by dispute parties and by
floating persons as their employer, each writing the name another way: divisions in front or not
(province, city, county, township), the legal form or not or another one, a bracketed branch note
(full- or half-width), the shortened name people use, one character slipped to one of the same sound,
stray spaces, full-width or traditional characters. Against that: look-alike distinct firms (names one
character apart in one village, same sound or not), one shop name in two townships, and firms
re-registered under their credit code with a new name (two unit records, one firm).

A slip that lands exactly on a neighbour's name is not generated: no resolver can see it, and it would
measure luck. The files are real source files (GeoJSON, GB18030 CSV, JSON Lines, the public-security
API's day files) read by the real connectors.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from stdnum.cn import ric, uscc

PROVINCE, CITY, COUNTY, COUNTY_CODE = "河北省", "石家庄市", "藁城区", "130109"
TOWNSHIPS = ["廉州镇", "兴安镇", "岗上镇", "南营镇"]
VILLAGES = [["东街村", "北关村", "东村", "西里村"], ["兴安村", "东村", "南董村", "马房村"],
            ["岗上村", "北楼村", "西辛庄村", "前村"], ["南营村", "梅花村", "后村", "小果庄村"]]
BRANDS = ["华泰", "恒通", "鑫达", "永丰", "瑞祥", "众兴", "天成", "德胜", "聚源", "和顺", "嘉禾", "盛达", "安泰", "长青",
          "金穗", "博远", "新丰", "明辉", "同心", "东升", "正阳", "万隆", "福源", "兴旺", "通达", "丰收", "华北", "宝丰",
          "信诚", "远航", "绿源", "嘉华", "润泽", "鼎盛", "祥和", "益民", "春晖", "金桥", "腾飞", "凯达"]
FIRM_TRADES = [("机械制造", "机械"), ("物流", None), ("建材", None), ("陶瓷制品", "陶瓷"), ("食品", None),
               ("服装", None), ("包装材料", "包装"), ("汽车配件", "汽配"), ("塑料制品", "塑料"), ("农业科技", "农业")]
SHOP_TRADES = [("超市", None), ("便利店", None), ("足浴中心", "足浴"), ("蔬菜店", "蔬菜"), ("理发店", "理发"),
               ("饭店", None), ("五金店", "五金"), ("诊所", None), ("药房", None), ("网吧", None), ("农资店", "农资")]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
# same-sound pairs (one syllable, different character) a clerk slips between, and look-alike firms use
SOUND = {"宏": "鸿", "鸿": "宏", "家": "佳", "佳": "家", "顶": "鼎", "鼎": "顶", "泰": "太", "通": "同", "利": "立",
         "兴": "星", "福": "富", "盛": "胜", "祥": "翔", "丰": "峰", "瑞": "锐", "永": "勇", "鑫": "新", "源": "元",
         "达": "大", "顺": "舜", "华": "桦", "德": "得", "明": "鸣", "信": "鑫", "诚": "成", "天": "添", "东": "冬"}
LOOKALIKES = [("宏运", "鸿运", "超市"), ("家美", "佳美", "理发店"), ("金顶", "金鼎", "饭店"), ("利民", "立民", "药房"),
              ("华康", "华泰", "五金店"), ("恒昌", "恒达", "便利店"), ("兴隆", "星隆", "网吧"), ("福来", "富来", "诊所")]
TRADITIONAL = str.maketrans("华东丰兴达龙运顺乐药饭农业机械厂汇长发园", "華東豐興達龍運順樂藥飯農業機械廠匯長發園")
NOTES = ["（城东店）", "(二分店)", "（总店）", "(新店)", "（{village}店）", "（分店）"]


@dataclass
class Org:
    uid: str
    kind: str  # firm | shop | public
    brand: str
    trade: str
    short_trade: str | None
    township: int
    village: int
    group: int
    house: int
    phone: str
    credit: str | None
    registered: str  # the name on its unit record
    old_name: str | None = None  # a re-registration: the name on its older unit record
    refs: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Corpus:
    orgs: list[Org] = field(default_factory=list)
    truth: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (source, stream, key) -> org uid
    persons: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (source, stream, key) -> person uid
    kinds: dict[str, int] = field(default_factory=dict)  # variation kind -> references written with it

    def tally(self, kinds: list[str]) -> None:
        for k in kinds:
            self.kinds[k] = self.kinds.get(k, 0) + 1


def _credit(rng: random.Random, kind: str) -> str:
    body = f"9{'2' if kind == 'shop' else '1'}{COUNTY_CODE}" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY")
                                                                  for _ in range(9))
    return body + uscc.calc_check_digit(body)


def _citizen(rng: random.Random) -> str:
    body = f"{COUNTY_CODE}{rng.randrange(1960, 2004)}{rng.randrange(1, 13):02d}{rng.randrange(1, 28):02d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def _phone(rng: random.Random, taken: set[str]) -> str:
    while (p := f"1{rng.choice('358')}{rng.randrange(10**9):09d}") in taken:
        pass
    taken.add(p)
    return p


def _grid(org_or_t: int, v: int, g: int | None = None) -> str:
    code = f"{COUNTY_CODE}{101 + org_or_t:03d}{201 + v:03d}"
    return code if g is None else f"{code}{g + 1:03d}"


def build_orgs(rng: random.Random) -> list[Org]:
    phones: set[str] = set()
    orgs: list[Org] = []
    used: set[tuple[str, str]] = set()
    houses: set[tuple[int, int, int, int]] = set()

    def add(kind: str, brand: str, trade: str, short: str | None, t: int, v: int, registered: str | None = None,
            credit: bool = True) -> Org:
        used.add((brand, trade))
        group, house = rng.randrange(3), rng.randrange(1, 60)
        while (t, v, group, house) in houses:  # one house, one firm: the spec makes a shared address a tie
            group, house = rng.randrange(3), rng.randrange(1, 60)
        houses.add((t, v, group, house))
        o = Org(f"ORG{len(orgs) + 1:04d}", kind, brand, trade, short, t, v, group, house,
                _phone(rng, phones), _credit(rng, kind) if credit else None, registered or "")
        if not o.registered:
            o.registered = {"firm": rng.choice([f"{brand}{trade}有限公司", f"{PROVINCE[:2]}{brand}{trade}有限公司",
                                                f"{CITY}{COUNTY}{brand}{trade}有限公司", f"{COUNTY}{brand}{trade}有限公司"]),
                            "shop": f"{brand}{trade}"}[kind]
        orgs.append(o)
        return o

    for t, town in enumerate(TOWNSHIPS):  # public bodies: the core alone says nothing; the township does
        for suffix in ("人民政府", "中心卫生院", "派出所", "中心小学"):
            add("public", town, suffix, None, t, 0, registered=town + suffix)
        for v, village in enumerate(VILLAGES[t]):
            add("public", village, "村民委员会", None, t, v, registered=f"{village}村民委员会")
    brands = rng.sample(BRANDS, len(BRANDS))
    for i, brand in enumerate(brands):  # firms with credit codes, some in two trades
        for trade, short in rng.sample(FIRM_TRADES, 2 if i % 3 == 0 else 1):
            add("firm", brand, trade, short, rng.randrange(4), rng.randrange(4))
    while len([o for o in orgs if o.kind == "shop"]) < 70:  # small premises, often without a code
        trade, short = rng.choice(SHOP_TRADES)
        brand = f"{rng.choice(SURNAMES)}记" if rng.random() < 0.5 else rng.choice(BRANDS) + rng.choice("园福隆")
        if (brand, trade) in used or any(ch in SOUND for ch in brand[:1]) and rng.random() < 0.5:
            continue
        add("shop", brand, trade, short, rng.randrange(4), rng.randrange(4), credit=rng.random() < 0.5)
    for a, b, trade in LOOKALIKES:  # two firms in one village, names one character apart
        t, v = rng.randrange(4), rng.randrange(4)
        for brand in (a, b):
            add("shop", brand, trade, None, t, v, credit=rng.random() < 0.3)
    for trade in ("超市", "饭店"):  # one shop name in two townships
        brand = f"{rng.choice(SURNAMES)}记"
        while (brand, trade) in used:
            brand = f"{rng.choice(SURNAMES)}记"
        add("shop", brand, trade, None, 0, 1, credit=False)
        add("shop", brand, trade, None, 1, 1, credit=False)
    for o in rng.sample([o for o in orgs if o.kind == "firm"], 10):  # re-registered under the same code
        o.old_name, o.registered = f"{COUNTY}{o.brand}{o.trade}厂", f"{PROVINCE[:2]}{o.brand}{o.trade}有限公司"
    return orgs


def variant(rng: random.Random, o: Org, orgs_by_parts: set[tuple[str, str]], care: float) -> tuple[str, list[str]]:
    """The name as one clerk wrote it, and the kinds of variation applied. ``care``: the chance a kind is
    skipped (a party's paperwork is written more carefully than an employer named at the counter)."""
    if o.kind == "public":
        town = TOWNSHIPS[o.township]
        base = o.registered
        pick = rng.random()
        if pick < 0.3:
            return f"{COUNTY}{base}", ["divisions"]
        if pick < 0.45:
            return f"{CITY}{COUNTY}{base}", ["divisions"]
        if pick < 0.55 and o.trade == "村民委员会":
            return f"{town}{base}", ["divisions"]
        return base, []
    kinds: list[str] = []
    brand, trade = o.brand, o.trade
    if o.old_name and rng.random() < 0.35:
        return o.old_name, ["old_name"]
    if rng.random() > care and o.short_trade and rng.random() < 0.5:
        trade = o.short_trade
        kinds.append("shortened")
    if rng.random() > care and rng.random() < 0.35:
        at = [i for i, ch in enumerate(brand) if ch in SOUND]
        if at:
            i = rng.choice(at)
            slipped = brand[:i] + SOUND[brand[i]] + brand[i + 1:]
            if (slipped, trade) not in orgs_by_parts and (slipped, o.trade) not in orgs_by_parts:
                brand = slipped
                kinds.append("same_sound")
    name = brand + trade
    if o.kind == "firm":
        form = rng.choice(["有限公司", "有限公司", "有限责任公司", "公司", ""] if rng.random() > care else ["有限公司"])
        if form != "有限公司":
            kinds.append("legal_form")
        name += form
    elif rng.random() > care and rng.random() < 0.15:
        name += "个体工商户" if rng.random() < 0.5 else "（个体工商户）"
        kinds.append("legal_form")
    town, village = TOWNSHIPS[o.township], VILLAGES[o.township][o.village]
    if rng.random() > care:
        prefix = rng.choice(["", "", PROVINCE, PROVINCE[:2], CITY, CITY + COUNTY, COUNTY, COUNTY[:2], town,
                             COUNTY + town, CITY[:3]])
        if prefix:
            kinds.append("divisions")
        name = prefix + name
    if rng.random() > care and rng.random() < 0.25:
        name += rng.choice(NOTES).format(village=village[:2])
        kinds.append("bracket_note")
    if rng.random() > care and rng.random() < 0.2:
        at = rng.randrange(1, len(name))
        name = name[:at] + rng.choice([" ", "  ", "\u3000"]) + name[at:]
        kinds.append("spaces")
    if rng.random() > care and rng.random() < 0.08:
        name = name.translate(TRADITIONAL)
        kinds.append("traditional")
    if rng.random() > care and rng.random() < 0.08:
        name = name.replace("(", "（").replace(")", "）") if "(" in name else name + "　"
        kinds.append("full_width")
    return name, kinds


def write(out: Path, seed: int = 14) -> Corpus:
    """Write the corpus's source files and hub.yaml under ``out``; returns the truth."""
    rng = random.Random(seed)
    corpus = Corpus(orgs=build_orgs(rng))
    parts = {(o.brand, o.trade) for o in corpus.orgs} | {(o.brand, o.short_trade) for o in corpus.orgs if o.short_trade}
    _grids(out)
    units: list[list] = []
    people: list[tuple[str, str, str]] = []  # (uid, name, citizen ID): persons others name again
    prng = random.Random(f"{seed}:persons")  # its own stream: the organisations stay as they were
    for o in corpus.orgs:
        address = f"{TOWNSHIPS[o.township]}{VILLAGES[o.township][o.village]}{o.group + 1}组{o.house}号"
        for n, name in enumerate([o.old_name, o.registered] if o.old_name else [o.registered]):
            key = f"DW{len(units) + 1:05d}"
            shop = o.kind == "shop"
            legal, responsible, rid = _person(rng), _person(rng), _citizen(rng)
            units.append([key, name, o.credit or "", address, legal, responsible, rid, o.phone,
                          "九小场所" if shop else "一般单位", _grid(o.township, o.village, o.group) if rng.random() < 0.6
                          else "", "", "", f"2026-0{3 + n}-0{1 + n} 09:00:00"])
            corpus.truth[("fire-safety", "units", key)] = o.uid
            corpus.persons[("fire-safety", "units", f"{key}#责任人")] = f"R{key}"
            people.append((f"R{key}", responsible, rid))
    folder = out / "fire-safety" / "20261101"
    folder.mkdir(parents=True)
    with (folder / "单位.csv").open("w", encoding="gb18030", newline="") as f:
        w = csv.writer(f)
        w.writerow(["单位编号", "单位名称", "统一社会信用代码", "单位地址", "法定代表人", "消防安全责任人", "责任人身份证号",
                    "联系电话", "单位类别", "所属网格", "经度", "纬度", "更新时间"])
        w.writerows(units)
    events, floating = [], []
    named = [o for o in corpus.orgs if o.kind != "public"]
    for o in corpus.orgs:
        for _ in range(rng.choice([0, 1, 1, 2]) if o.kind != "public" else rng.choice([0, 1])):
            name, kinds = variant(rng, o, parts - {(o.brand, o.trade)}, care=0.6)
            corpus.tally(kinds)
            case_no = f"TJ20261101{len(events) + 1:05d}"
            ident = o.credit if o.credit and rng.random() < 0.6 else None
            t, v = _near(rng, o)
            events.append({"seq": len(events) + 1, "ts": f"2026-11-01T10:{len(events) // 60 % 60:02d}:{len(events) % 60:02d}+08:00",
                           "type": "case.accepted", "case_no": case_no, "data": {
                               "category": "劳资纠纷", "grid_code": _grid(t, v, rng.randrange(3)),
                               "location": f"{TOWNSHIPS[t]}{VILLAGES[t][v]}", "summary": "拖欠工资纠纷", "level": "村级",
                               "parties": [_applicant(rng, prng, people, corpus, case_no),
                                           {"role": "被申请人", "name": name, "id_no": ident,
                                            "phone": o.phone if rng.random() < 0.5 else None}]}})
            corpus.truth[("dispute-mediation", "cases", f"{case_no}#1")] = o.uid
    for o in named:
        for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
            name, kinds = variant(rng, o, parts - {(o.brand, o.trade)}, care=0.25)
            corpus.tally(kinds)
            t, v = _near(rng, o)
            key = f"FP{len(floating) + 1:07d}"
            birth = f"{rng.randrange(1970, 2004)}{rng.randrange(1, 13):02d}{rng.randrange(1, 28):02d}"
            body = f"510104{birth}{rng.randrange(1000):03d}"
            corpus.persons[("public-security", "floating-persons", key)] = f"P{key}"
            floating.append({"id": key, "name": _person(rng), "idNo": body + ric.calc_check_digit(body + "0"),
                             "gender": "M" if int(body[16]) % 2 else "F",
                             "birthDate": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", "nativePlace": "四川省成都市",
                             "address": f"{TOWNSHIPS[t]}{VILLAGES[t][v]}{rng.randrange(1, 4)}组{rng.randrange(1, 60)}号",
                             "gridCode": _grid(t, v, rng.randrange(3)) if rng.random() < 0.8 else None,
                             "registeredAt": "2026-01-05", "permitExpiry": "2027-01-04", "employer": name,
                             "phone": None, "status": "active",
                             "updatedAt": f"2026-10-{1 + len(floating) % 28:02d}T09:00:00+08:00"})
            corpus.truth[("public-security", "floating-persons", f"{key}#employer")] = o.uid
    (out / "dispute-mediation").mkdir()
    with (out / "dispute-mediation" / "events-20261101.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
    for stream, rows in (("floating-persons", floating), ("special-persons", []), ("incidents", [])):
        (out / "public-security" / stream).mkdir(parents=True)
        with (out / "public-security" / stream / "day-00.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (out / "hub.yaml").write_text(
        "database: sqlite:///var/hub.db\nlanding: var/landing\nsources:\n"
        "  grid-registry: {connector: grid-registry, path: grids.geojson}\n"
        "  fire-safety: {connector: fire-safety, path: fire-safety}\n"
        "  public-security: {connector: public-security, base_url: \"http://127.0.0.1:1\", token_env: ORG_CORPUS_TOKEN}\n"
        "  dispute-mediation: {connector: dispute-mediation, path: dispute-mediation}\n", encoding="utf-8")
    return corpus


def _applicant(rng: random.Random, prng: random.Random, people: list[tuple[str, str, str]], corpus: Corpus,
               case_no: str) -> dict:
    """The other side of a wage dispute: a new person, or (three times in ten) a unit's responsible person
    again, the name sometimes spaced; persons with the same name and another ID are other people."""
    party = {"role": "申请人", "name": _person(rng), "id_no": _citizen(rng), "phone": _phone(rng, set())}
    uid = f"A{case_no}"
    if people and prng.random() < 0.3:
        uid, name, cid = prng.choice(people)
        party.update(name=name if prng.random() < 0.8 else f"{name[0]} {name[1:]}", id_no=cid)
    corpus.persons[("dispute-mediation", "cases", f"{case_no}#0")] = uid
    return party


def _near(rng: random.Random, o: Org) -> tuple[int, int]:
    """Where someone naming the firm lives or quarrels: mostly its village, else its township, rarely farther."""
    r = rng.random()
    if r < 0.7:
        return o.township, o.village
    if r < 0.95:
        return o.township, rng.randrange(4)
    return rng.randrange(4), rng.randrange(4)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英") for _ in range(rng.choice([1, 2])))


def _grids(out: Path) -> None:
    feats = []

    def box(code: str, name: str, level: int, parent: str | None, x: float, y: float, w: float, h: float) -> None:
        ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
        feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"code": code, "name": name, "level": level, "parent": parent, "manager": None,
                                     "phone": None}})

    for t, town in enumerate(TOWNSHIPS):
        tcode = f"{COUNTY_CODE}{101 + t:03d}000"
        box(tcode, town, 1, None, 114.8 + 0.1 * t, 38.0, 0.1, 0.1)
        for v, village in enumerate(VILLAGES[t]):
            vcode = _grid(t, v)
            box(vcode, village, 2, tcode, 114.8 + 0.1 * t + 0.025 * v, 38.0, 0.025, 0.1)
            for g in range(3):
                box(_grid(t, v, g), f"{village}第{'一二三'[g]}村民小组", 3, vcode, 114.8 + 0.1 * t + 0.025 * v,
                    38.0 + 0.033 * g, 0.025, 0.033)
    (out / "grids.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
                                       encoding="utf-8")


def load(out: Path, token: str = "org-corpus-token", seed: int = 14):  # type: ignore[no-untyped-def]
    """Write the corpus, serve its public-security files over loopback, sync every source through the
    real connectors and gate, and resolve. Returns (corpus, ctx, stop). Needs HUB_SECRET_KEY set."""
    import os
    import re

    from hub.context import HubContext
    from hub.resolve.entities import resolve_entities
    from hub.resolve.grids import project_grids
    from hub.stages.sync import sync
    from hub.synth.server import start_in_thread

    corpus = write(out, seed)
    url, stop = start_in_thread(out, token, rate_limit_per_s=1e6, fail_rate=0.0)
    os.environ["ORG_CORPUS_TOKEN"] = token
    cfg = out / "hub.yaml"
    cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")), encoding="utf-8")
    ctx = HubContext.from_config(cfg)
    ctx.ensure_store()
    for source in ("grid-registry", "fire-safety", "dispute-mediation", "public-security"):
        sync(ctx, source, resolve=False)
    project_grids(ctx)
    resolve_entities(ctx)
    return corpus, ctx, stop

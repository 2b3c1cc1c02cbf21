"""Organisations known only by name: which of several same-named units a mention is, and when to ask a steward."""

from __future__ import annotations

from hub.resolve.organisations import link_orgs, township_names
from hub.resolve.persons.deterministic import Decisions
from hub.resolve.persons.records import ORG, Mention

# two townships of the registry; 东村 exists in both
REGISTRY = [("130203101000", "唐山镇"), ("130203102000", "新城镇")]
TANGSHAN_EAST, XINCHENG_EAST, XINCHENG_WEST = "130203101201", "130203102201", "130203102202"
THIRD_TOWNSHIP = "130203103205003"


def unit(n: int, name: str, address: str) -> Mention:
    return Mention((n, 0), "fire-safety", "units", f"DW{n}", "units", f"DW{n}", ORG, "fire-safety", "r1", False,
                   name=name, attrs={"address": address})


def employer(n: int, name: str, grid_code: str | None, address: str | None = None) -> Mention:
    home = {k: v for k, v in (("home_grid_code", grid_code), ("home_address", address)) if v}
    return Mention((n, 2), "public-security", "floating-persons", f"FP{n}", "floating-persons", f"FP{n}#employer",
                   ORG, "public-security", "r1", False, name=name, attrs=home)


def party(n: int, name: str, case_grid_code: str) -> Mention:
    return Mention((n, 0), "dispute-mediation", "case-parties", f"TJ{n}#1", "cases", f"TJ{n}#1", ORG,
                   "dispute-mediation", "r1", False, name=name,
                   attrs={"party_kind": "organisation", "case_grid_code": case_grid_code})


def shops() -> list[Mention]:
    return [unit(1, "王记超市", "唐山镇东村3组17号"), unit(2, "王记超市", "新城镇西村5组2号")]


def entity_of(mentions: list[Mention], groups: list[list[int]]) -> dict[str, int]:
    return {mentions[i].link_key: g for g, members in enumerate(groups) for i in members}


def test_the_township_tells_same_named_shops_apart() -> None:
    mentions = shops() + [
        employer(10, "王记超市", XINCHENG_EAST + "004"),  # lives in 新城镇东村: the 新城镇 shop, not 唐山镇东村's
        employer(11, "王記超市", None, "唐山镇南村2组8号"),  # traditional spelling; the address names the township
        party(12, "王记超市", TANGSHAN_EAST + "001"),  # a dispute in 唐山镇东村
    ]
    groups, method, reviews = link_orgs(mentions, {}, Decisions(), township_names(REGISTRY))
    ids = entity_of(mentions, groups)
    assert ids["FP10#employer"] == ids["DW2"] != ids["DW1"]
    assert ids["FP11#employer"] == ids["DW1"]
    assert ids["TJ12#1"] == ids["DW1"]
    assert [method[i] for i in (2, 3, 4)] == ["name_place", "name_place", "name_place"]
    assert reviews == []


def test_a_village_name_is_not_matched_across_townships() -> None:
    mentions = [unit(1, "李记饭店", "唐山镇东村1组1号"), unit(2, "李记饭店", "新城镇西村1组1号"),
                employer(10, "李记饭店", None, "新城镇东村4组9号")]
    groups, _, _ = link_orgs(mentions, {}, Decisions(), township_names(REGISTRY))
    ids = entity_of(mentions, groups)
    assert ids["FP10#employer"] == ids["DW2"] != ids["DW1"]  # 东村 of 新城镇 is not 东村 of 唐山镇


def test_an_undecidable_mention_stays_apart_and_is_queued_once_per_candidate() -> None:
    mentions = shops() + [employer(10, "王记超市", THIRD_TOWNSHIP)]
    groups, method, reviews = link_orgs(mentions, {}, Decisions(), township_names(REGISTRY))
    ids = entity_of(mentions, groups)
    assert ids["FP10#employer"] not in (ids["DW1"], ids["DW2"])
    assert method[2] == "name_ambiguous"
    assert sorted(r["right_key"] for r in reviews) == ["fire-safety|units|DW1", "fire-safety|units|DW2"]
    assert {r["left_key"] for r in reviews} == {"public-security|floating-persons|FP10#employer"}
    assert {r["score"] for r in reviews} == {0.5}

    # the steward rejects one candidate: the other is then the only shop of that name left
    decisions = Decisions(rejected={frozenset(("public-security|floating-persons|FP10#employer",
                                               "fire-safety|units|DW1"))})
    decisions.known = {frozenset((r["left_key"], r["right_key"])) for r in reviews}
    groups, method, reviews = link_orgs(mentions, {}, decisions, township_names(REGISTRY))
    ids = entity_of(mentions, groups)
    assert ids["FP10#employer"] == ids["DW2"] and method[2] == "name"
    assert reviews == []  # nothing asked twice


def test_an_accepted_pair_joins_what_the_place_could_not() -> None:
    mentions = shops() + [employer(10, "王记超市", THIRD_TOWNSHIP)]
    pair = frozenset(("public-security|floating-persons|FP10#employer", "fire-safety|units|DW1"))
    decisions = Decisions(accepted={pair}, known={pair})
    groups, method, reviews = link_orgs(mentions, {}, decisions, township_names(REGISTRY))
    ids = entity_of(mentions, groups)
    assert ids["FP10#employer"] == ids["DW1"] != ids["DW2"] and method[2] == "steward"
    assert [r["right_key"] for r in reviews] == ["fire-safety|units|DW2"]


def test_a_party_phone_a_namesake_registered_decides_where_the_place_cannot() -> None:
    a, b = shops()
    a.phone, b.phone = "bidx-a", "bidx-b"  # the units' 联系电话 (blind indexes)
    by_phone = party(12, "王记超市", THIRD_TOWNSHIP)  # a dispute in a third township: the place says nothing
    by_phone.phone = "bidx-b"
    unknown = party(13, "王记超市", THIRD_TOWNSHIP)
    unknown.phone = "bidx-c"  # a number neither unit gave: still undecidable
    mentions = [a, b, by_phone, unknown]
    groups, method, reviews = link_orgs(mentions, {}, Decisions(), township_names(REGISTRY))
    ids = entity_of(mentions, groups)
    assert ids["TJ12#1"] == ids["DW2"] != ids["DW1"] and method[2] == "name_phone"
    assert ids["TJ13#1"] not in (ids["DW1"], ids["DW2"]) and method[3] == "name_ambiguous"
    assert {r["left_key"] for r in reviews} == {"dispute-mediation|cases|TJ13#1"}


# -- names as departments write them, and the three bands ------------------------------------------------
LIANZHOU = [("130109101000", "廉州镇"), ("130109102000", "兴安镇")]


def test_one_firm_written_five_ways_has_one_core() -> None:
    from hub.resolve.organisations import Divisions, canonical

    divisions = Divisions.of_county(LIANZHOU)
    written = ["石家庄市藁城区华泰机械制造有限公司", "藁城区华泰机械制造", "廉州镇华泰机械制造有限公司（城东店）",
               "华泰机械制造 有限责任公司", "河北省華泰機械製造(二分店)", "藁城华泰机械制造股份有限公司"]
    assert {canonical(n, divisions).core for n in written} == {"华泰机械制造"}  # type: ignore[union-attr]
    # 超市 ends in 市 and 金华 is a city elsewhere: neither is a division in front of a firm's own word
    assert canonical("王记超市", divisions).core == "王记超市"  # type: ignore[union-attr]
    assert canonical("金华机械", divisions).core == "金华机械"  # type: ignore[union-attr]


def test_relations_between_names() -> None:
    from hub.resolve.organisations import Divisions, canonical, relation

    d = Divisions.of_county(LIANZHOU)

    def rel(a: str, b: str) -> str | None:
        return relation(canonical(a, d), canonical(b, d))  # type: ignore[arg-type]

    assert rel("恒通物流", "河北恒通物流有限公司") == "same_core"
    assert rel("康乐足浴", "康乐足浴中心") == "abbreviation"
    assert rel("腾飞汽配", "腾飞汽车配件有限公司") == "abbreviation"
    assert rel("宏运超市", "鸿运超市") == "same_sound"
    assert rel("曾记饭店", "增记饭店") == "same_sound"  # 曾 is zeng as a surname, not only ceng
    assert rel("华泰五金店", "华康五金店") is None  # one character apart, not the same sound
    assert rel("廉州镇人民政府", "兴安镇人民政府") is None  # a public body every township has
    assert rel("廉州镇人民政府", "藁城区廉州镇人民政府") == "same_core"
    assert rel("王记超市", "王记便利店") is None


def test_look_alike_units_stay_apart_unless_a_phone_ties_them() -> None:
    a, b = unit(1, "宏运超市", "唐山镇东村3组17号"), unit(2, "鸿运超市", "唐山镇东村5组2号")
    a.phone, b.phone = "bidx-a", "bidx-b"
    groups, _, reviews = link_orgs([a, b], {}, Decisions(), township_names(REGISTRY))
    assert len(groups) == 2
    assert [r["evidence"]["relation"] for r in reviews] == ["same_sound"]  # asked, with what was compared
    b.phone = "bidx-a"  # the same contact number: one firm, a clerk's slip
    groups, method, reviews = link_orgs([a, b], {}, Decisions(), township_names(REGISTRY))
    assert len(groups) == 1 and method[1] == "name_phone" and reviews == []


def test_a_re_registered_firm_is_one_and_another_code_is_another_firm() -> None:
    old, new = unit(1, "藁城区鑫达陶瓷厂", "唐山镇东村3组17号"), unit(2, "河北鑫达陶瓷有限公司", "唐山镇东村3组17号")
    other = unit(3, "鑫达陶瓷有限公司", "唐山镇东村3组17号")
    old.credit = new.credit = "91130109MA0ABCDE1X"
    other.credit = "91130109MA0FGHJK2Y"  # same name and house, another code: another firm
    groups, _, _ = link_orgs([old, new, other], {}, Decisions(), township_names(REGISTRY))
    ids = entity_of([old, new, other], groups)
    assert ids["DW1"] == ids["DW2"] != ids["DW3"]


def test_a_slip_links_where_the_place_fits_and_is_asked_where_nothing_ties_it() -> None:
    mentions = [unit(1, "瑞祥超市", "唐山镇东村3组17号"),
                employer(10, "锐祥超市", TANGSHAN_EAST + "002"),  # lives in the shop's village
                employer(11, "锐祥超市", THIRD_TOWNSHIP),  # lives in a third township: nothing ties a short name
                employer(12, "锐祥理发店", THIRD_TOWNSHIP)]  # a five-character name one of a kind: a slip
    mentions.append(unit(2, "瑞祥理发店", "新城镇西村1组1号"))
    groups, method, reviews = link_orgs(mentions, {}, Decisions(), township_names(REGISTRY))
    ids = entity_of(mentions, groups)
    assert ids["FP10#employer"] == ids["DW1"] and method[1] == "same_sound_place"
    assert ids["FP11#employer"] != ids["DW1"] and method[2] == "same_sound_review"
    assert [(r["left_key"], r["evidence"]["relation"], r["evidence"]["candidate_name"]) for r in reviews] == [
        ("public-security|floating-persons|FP11#employer", "same_sound", "瑞祥超市")]
    assert ids["FP12#employer"] == ids["DW2"] and method[3] == "same_sound"


def test_quick_rejections_keep_every_relation() -> None:
    """``abbreviation`` and ``same_sound_slip`` turn most pairs away before comparing them character by
    character (a search meets thousands of pairs a day): over every pair of a set of firm names with their
    shortened forms and same-sound slips, the answers equal the definitions applied in full."""
    import itertools

    from org_corpus import BRANDS, FIRM_TRADES, SHOP_TRADES, SOUND

    from hub.resolve.organisations.names import _alike, _embedding, abbreviation, same_sound_slip

    def slip_in_full(a: str, b: str) -> bool:
        if len(a) != len(b) or len(a) < 3 or a == b:
            return False
        costs = [_alike(x, y) for x, y in zip(a, b, strict=True)]
        return None not in costs and sum(costs) == 1  # type: ignore[arg-type]

    def abbreviation_in_full(a: str, b: str) -> str | None:
        short, long = sorted((a, b), key=len)
        if len(short) == len(long) or len(short) < 3:
            return None
        if len(short) == 3 and not (long.startswith(short) and len(long) - len(short) <= 2):
            return None
        slips = _embedding(short, long)
        return None if slips is None or slips > 1 or (slips and len(short) < 4) else (
            "abbreviation" if slips == 0 else "abbreviation_sound")

    names: set[str] = set()
    for brand in BRANDS[:12]:
        for trade, short in FIRM_TRADES + SHOP_TRADES:
            for core in {brand + trade, brand + (short or trade)}:
                names.add(core)
                for i, ch in enumerate(core):  # one character slipped, and slipped twice
                    if ch in SOUND:
                        names.add(core[:i] + SOUND[ch] + core[i + 1:])
                        names.update(core[:i] + SOUND[ch] + core[i + 1:j] + SOUND[c] + core[j + 1:]
                                     for j, c in enumerate(core) if j > i and c in SOUND)
                names.add(core[:2] + core[3:])  # a character left out
    found: dict[str, int] = {}
    for a, b in itertools.permutations(sorted(names), 2):
        expected = abbreviation_in_full(a, b)
        assert abbreviation(a, b) == expected, (a, b)
        assert same_sound_slip(a, b) == slip_in_full(a, b), (a, b)
        for kind in (expected, "same_sound" if slip_in_full(a, b) else None):
            if kind:
                found[kind] = found.get(kind, 0) + 1
    assert set(found) == {"abbreviation", "abbreviation_sound", "same_sound"}, found

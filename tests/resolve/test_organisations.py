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

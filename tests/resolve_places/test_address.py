"""Address normalisation: the forms clerks write for one house give one building key."""

import pytest

from hub.resolve.address import building_key, chinese_number, group_number, normalize_address, village_stem

SAME_BLOCK = [
    "河北省唐山市路北区唐山镇幸福里社区3号楼2单元101室",
    "唐山镇幸福里社区3号楼",
    "唐山镇幸福里社区３栋",  # full-width digit, 栋
    "唐山镇幸福里社区三幢1单元",  # Chinese numeral, 幢
    "唐山镇 幸福里社区 3-2-101",  # block-entrance-room shorthand with spaces
    "唐山镇幸福里社区3#楼",
    "路北区唐山鎮幸福里社區3座502室",  # traditional characters, district without province
]


@pytest.mark.parametrize("written", [*SAME_BLOCK, "唐山镇幸福里社区3号", "唐山镇幸福里社区三号院"])
def test_one_block_however_written(written: str) -> None:
    assert building_key(written) == "唐山镇幸福里社区3号"  # 3号楼, 3号, 三号院: one house number


@pytest.mark.parametrize(("written", "key"), [
    ("唐山镇东村第三村民小组十七号", "唐山镇东村3组17号"),
    ("唐山镇东村3组17号5室", "唐山镇东村3组17号"),
    ("唐山镇东村03组017号", "唐山镇东村3组17号"),
    ("唐山镇东村三组一百零五号", "唐山镇东村3组105号"),
    ("唐山镇东村（3组）17号", "唐山镇东村3组17号"),
])
def test_village_houses(written: str, key: str) -> None:
    assert building_key(written) == key


def test_different_houses_stay_different() -> None:
    assert building_key("唐山镇东村3组17号") != building_key("唐山镇东村3组71号")
    assert building_key("唐山镇幸福里社区3号楼") != building_key("唐山镇幸福里社区13号楼")
    assert building_key("唐山镇东村12号") == building_key("唐山镇东村十二号") == building_key("唐山镇东村12号楼")
    # the prefix is only dropped above the township: 社区 and 开发区 are part of the address
    assert building_key("唐山市开发区建设路5号") == "开发区建设路5号"
    assert building_key("幸福里社区5号楼") == "幸福里社区5号"


def test_full_form_keeps_the_flat() -> None:
    assert normalize_address("幸福里社区3-2-101") == "幸福里社区3号楼2单元101室"
    assert normalize_address("  ") is None and building_key(None) is None


def test_numbers_and_names() -> None:
    assert [chinese_number(t) for t in ("三", "十", "十二", "二十", "一百零五", "一〇五")] == [3, 10, 12, 20, 105, 105]
    assert group_number("唐山镇东村3组17号") == 3 and group_number("幸福里社区3号楼") is None
    assert group_number("唐山镇东村3组17号", after="东村") == 3
    assert [village_stem(n) for n in ("东村", "幸福里社区", "村", "大王庄")] == ["东", "幸福里", "村", "大王庄"]

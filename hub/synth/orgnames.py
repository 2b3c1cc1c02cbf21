"""How a department writes an organisation's name when it is not the register (legacy-systems.md, "How the
same thing is written in different departments"): divisions in front or not, another legal form, a
bracketed branch note, the name people use, one character slipped to one of the same sound, stray spaces,
traditional characters.

Each mention draws from its own seeded stream (its source key), so adding or changing a rate moves no
other random draw of the county. A slip that would land on another organisation's name is not made: no
resolver could see it, so it would only measure luck.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

PROVINCE, CITY, COUNTY = "河北省", "唐山市", "路北区"
# how often a mention is written otherwise than the register has it: a floating person's employer is
# said at the police counter, a dispute party is copied from paperwork
WRITTEN_OTHERWISE = {"employer": 0.25, "party": 0.12}
KINDS = ("divisions", "legal_form", "bracket_note", "shortened", "same_sound", "spaces", "traditional")
KIND_WEIGHTS = (30, 20, 12, 12, 8, 12, 6)
SAME_SOUND = {"王": "汪", "张": "章", "刘": "柳", "徐": "许", "吴": "武", "何": "贺", "朱": "诸", "胡": "扈",
              "郭": "国", "罗": "骆", "杨": "阳", "林": "琳", "黄": "皇", "赵": "照", "高": "郜", "梁": "良",
              "鑫": "新", "宏": "鸿", "华": "桦", "泰": "太", "盛": "胜", "永": "勇", "丰": "峰", "恒": "衡",
              "通": "同", "利": "立", "民": "敏", "瑞": "锐", "祥": "翔", "兴": "星", "东": "冬", "达": "大"}
TRADITIONAL = str.maketrans("华东丰兴达运顺乐药饭农业机械厂长发园记馆网锅资", "華東豐興達運順樂藥飯農業機械廠長發園記館網鍋資")
SHORTENED_KINDS = ("小吃店", "五金店", "农资店", "理发店")  # 王记五金 for 王记五金店
NOTES = ("（总店）", "(二分店)", "（{village}店）", "(分店)")


class NameWriter:
    """Writes an organisation's name as one clerk would; knows every name in the county to avoid slips
    that land on a neighbour's."""

    def __init__(self, seed: str, names: Iterable[str]) -> None:
        self.seed = seed
        self.names = set(names)

    @classmethod
    def of(cls, world) -> NameWriter:  # type: ignore[no-untyped-def]
        writer = cls("org-names", (o.name for o in world.organisations))
        writer.world = world
        return writer

    def write_org(self, key: str, org, role: str, truth=None, source: str = "", stream: str = "") -> str:  # type: ignore[no-untyped-def]
        """The name of ``org`` as the mention ``key`` writes it; each variation is a fault in the truth."""
        village = self.world.village_of[org.building.grid.code]
        township = self.world.township_of[village.code]
        name, kinds = self.write(key, org.name, township.name, village.name, role)
        for kind in kinds if truth is not None else ():
            truth.fault(source, stream, key, f"org_name_{kind}", f"{org.name} written {name}")
        return name

    def write(self, key: str, name: str, township: str, village: str, role: str) -> tuple[str, list[str]]:
        """(the name as written, the kinds of variation applied) for the mention ``key``."""
        rng = random.Random(f"{self.seed}:{key}")
        if rng.random() >= WRITTEN_OTHERWISE[role]:
            return name, []
        wanted = rng.choices(KINDS, KIND_WEIGHTS, k=1 if rng.random() < 0.75 else 2)
        kinds: list[str] = []
        for kind in dict.fromkeys(wanted):
            new = getattr(self, f"_{kind}")(rng, name, township, village)
            if new and new != name:
                name = new
                kinds.append(kind)
        return name, kinds

    def _divisions(self, rng: random.Random, name: str, township: str, village: str) -> str:
        if name.startswith(CITY[:2]) and not name.startswith(township):  # 唐山鑫达陶瓷有限公司
            return rng.choice([name[2:], PROVINCE + CITY + name[2:], CITY + COUNTY + name[2:], PROVINCE[:2] + name[2:]])
        if name.startswith(township):  # 唐山镇人民政府, 唐山镇东村王记超市
            return rng.choice([COUNTY + name, CITY + COUNTY + name])
        return rng.choice([township + name, COUNTY + name, COUNTY + township + name])

    def _legal_form(self, rng: random.Random, name: str, township: str, village: str) -> str:
        if name.endswith("有限公司"):
            return name[:-4] + rng.choice(["有限责任公司", "公司", ""])
        if name.endswith(("店", "超市", "馆", "室", "所", "吧")):
            return name + rng.choice(["（个体工商户）", "个体工商户"])
        return name

    def _bracket_note(self, rng: random.Random, name: str, township: str, village: str) -> str:
        if name.endswith(("委员会", "政府", "派出所", "合作社")):
            return name
        return name + rng.choice(NOTES).format(village=village[:2])

    def _shortened(self, rng: random.Random, name: str, township: str, village: str) -> str:
        if name.endswith("有限公司") and name.startswith((CITY[:2], PROVINCE[:2])):
            core = name[:-4]
            for prefix in (PROVINCE, PROVINCE[:2], CITY, COUNTY, CITY[:2]):  # 鑫达陶瓷: the name people use
                core = core.removeprefix(prefix)
            return core
        if name.endswith(SHORTENED_KINDS):
            short = name[:-1]
            return short if not self._taken(short, name) else name
        return name

    def _same_sound(self, rng: random.Random, name: str, township: str, village: str) -> str:
        start = 2 if name.startswith(CITY[:2]) else 0  # the firm's own word, not the city
        spots = [i for i, ch in enumerate(name) if i >= start and ch in SAME_SOUND][:2]
        if not spots or name.endswith(("委员会", "政府", "派出所", "合作社")):
            return name
        i = rng.choice(spots)
        slipped = name[:i] + SAME_SOUND[name[i]] + name[i + 1:]
        return name if self._taken(slipped, name) else slipped

    def _spaces(self, rng: random.Random, name: str, township: str, village: str) -> str:
        at = rng.randrange(1, len(name))
        return name[:at] + rng.choice([" ", "\u3000"]) + name[at:]

    def _traditional(self, rng: random.Random, name: str, township: str, village: str) -> str:
        return name.translate(TRADITIONAL)

    def _taken(self, candidate: str, own: str) -> bool:
        """Another organisation's name holds this one: writing it would name that one."""
        core = candidate[2:] if candidate.startswith(CITY[:2]) else candidate
        core = core.removesuffix("有限公司")
        return any(core in n for n in self.names if n != own)

"""The province's matching statistics, computed once and shared by every county's task.

Splink's prior (one over the number of persons compared) and its name term frequencies decide how
much a name agreeing is worth. A county scored with its own would link a pair a whole-store run
sends to review (seen on three 300-resident counties: one dispute party); so ``prepare`` counts them
over the province and each county scores with those. Names are kept as keyed blind indexes only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hub.privacy import Vault
from hub.privacy.files import open_private, private_dir
from hub.resolve.persons.records import Mention


@dataclass(frozen=True)
class ProvinceStats:
    population: int
    name_share: dict[str, float]  # blind index of a name -> its share of the province's person mentions

    def names_tf(self, vault: Vault, mentions: Sequence[Mention]) -> pd.DataFrame:
        """The frame ``link_persons`` takes, for the names these mentions use."""
        rows = []
        for name in sorted({m.name for m in mentions if m.name}):
            share = self.name_share.get(vault.blind_index(name, kind="name") or "")
            if share is not None:
                rows.append((name, share))
        return pd.DataFrame(rows or [("-", 1.0)], columns=["name", "tf_name"])


def count(vault: Vault, persons: Sequence[Mention], linked: int) -> ProvinceStats:
    """As a whole-store run counts them: over every person mention (names as ``name_tf`` does)."""
    names = Counter(m.name for m in persons if m.name)
    total = sum(names.values()) or 1
    share = {vault.blind_index(name, kind="name") or "": n / total for name, n in names.items()}
    return ProvinceStats(population=max(linked, len(persons)), name_share=share)


def path(landing: Path) -> Path:
    return landing / "_resolve" / "province-stats.json"


def save(landing: Path, stats: ProvinceStats) -> None:
    target = path(landing)
    private_dir(target.parent)
    tmp = target.with_suffix(".tmp")
    with open_private(tmp, "w", encoding="utf-8") as fh:
        json.dump({"population": stats.population, "name_share": stats.name_share}, fh)
    tmp.replace(target)  # a county task on another worker never reads half a file


def load(landing: Path) -> ProvinceStats | None:
    try:
        raw = json.loads(path(landing).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return ProvinceStats(population=int(raw["population"]), name_share=dict(raw["name_share"]))

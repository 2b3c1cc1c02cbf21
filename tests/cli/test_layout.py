"""Issue 18 item 12: orchestration is one package, and imports flow one way (no circles)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

HUB = Path(__file__).resolve().parents[2] / "hub"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in HUB.rglob("*.py"):
        name = ".".join(path.relative_to(HUB.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """Every hub module → the hub modules it imports anywhere (top level, functions, TYPE_CHECKING)."""
    mods = _modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str | None] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("hub"):
                targets = [known(f"{node.module}.{a.name}") or known(node.module or "") for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [known(a.name) for a in node.names if a.name.startswith("hub")]
            graph[mod].update(t for t in targets if t and t != mod)
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        mod = todo.pop()
        if mod == goal:
            return True
        if mod not in seen:
            seen.add(mod)
            todo.extend(graph.get(mod, ()))
    return False


def test_orchestration_is_one_package() -> None:
    for loose in ("orchestration.py", "demo.py", "airflow_home.py", "airflow_run.py"):
        assert not (HUB / loose).exists(), f"hub/{loose} is still a loose module at hub/'s root"
    for part in ("tasks", "demo", "airflow_home", "airflow_run"):
        importlib.import_module(f"hub.orchestration.{part}")
    dags = HUB.parent / "dags"
    for dag_file in dags.glob("*.py"):
        assert "from hub.orchestration.tasks import" in dag_file.read_text(encoding="utf-8") or \
            "orchestration" not in dag_file.read_text(encoding="utf-8")


@pytest.mark.parametrize(("one", "other"), [
    ("hub.api.deps", "hub.api.main"),
    ("hub.quality.gate", "hub.quality.expectations"),
    ("hub.quality.normalize", "hub.quality.identity"),
    ("hub.quality.normalize", "hub.quality.geometry"),
])
def test_no_import_circle(one: str, other: str) -> None:
    graph = import_graph()
    assert not (reaches(graph, one, other) and reaches(graph, other, one)), \
        f"{one} and {other} import each other (directly or through other modules)"


def _dependencies() -> list[str]:
    import tomllib

    project = tomllib.loads((HUB.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [d.split(";")[0].strip() for d in project["dependencies"]]


def test_no_unused_or_doubled_dependencies() -> None:
    import re

    names = [re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in _dependencies()]
    assert not [n for n in names if n.startswith("adbc-")], "ADBC drivers are not used"
    assert len(names) == len(set(names)), f"listed twice: {sorted({n for n in names if names.count(n) > 1})}"
    assert "opencc" in names and "opencc-python-reimplemented" not in names


def test_simplified_uses_the_native_opencc_and_no_private_attribute() -> None:
    import importlib.metadata

    import opencc

    from hub.quality import simplified

    assert importlib.metadata.version("opencc").startswith("1.4.")
    assert "clib" in opencc.__file__ or hasattr(opencc, "opencc_clib")  # the native binding, not a reimplementation
    source = Path(simplified.__file__).read_text(encoding="utf-8")
    assert "._" not in source.replace("__", ""), "reads a private attribute"
    converter = opencc.OpenCC("t2s.json")
    corpus = ["張偉", "長樂鄉東村3組", "藉口", "乾燥", "东村3组12号", "臺灣路", "ABC-12", "一口氣", "王秀英"]
    assert [simplified.to_simplified(t) for t in corpus] == [converter.convert(t) for t in corpus]

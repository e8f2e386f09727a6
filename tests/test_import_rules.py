"""The architecture's rules, held by reading every module's imports (any import counts: inside functions too, and in
`if TYPE_CHECKING:` blocks).

- Adapters reach the core through its one door: from the project they import only `adapters.*` and `bot.door`.
- The core never reaches a channel: nothing outside adapters/ imports them, but the composition root (bot/app.py).
- The core imports no chat platform's SDK nor the web server; only adapters/teams/ imports botbuilder.
- Each package of the core imports only the packages below it (LAYERS), so there are no cycles between packages,
  and no module imports itself round a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROJECT = ("adapters", "bot", "dialogs", "policies", "storage")
SKIP_DIRS = {".venv", "venv", "tests", "data", "node_modules", "__pycache__", "build", "dist"}
PLATFORM = {"botbuilder", "botframework", "slack_bolt", "slack_sdk", "aiohttp"}
TEAMS_SDK = {"botbuilder", "botframework"}
ROOT = "bot.app"  # the composition root: builds everything, core and channels
# What each part of the project may import from the project (besides itself).
LAYERS: dict[str, set[str]] = {
    "storage": set(),
    "policies": set(),
    "dialogs": {"bot.dates", "policies"},  # (a date answer is checked against the procedure's calendar)
    "bot.types": {"policies"},
    "bot.config": {"policies", "storage"},  # (the deployment's store, as the settings name it)
    "bot.dates": {"policies"},
    "bot.people": {"policies", "storage"},
    "bot.cases": {"bot.dates", "bot.people", "bot.types", "dialogs", "policies", "storage"},
    "bot.summary": {"bot.cases", "bot.dates", "bot.types", "policies"},
    "bot.jobs": {"bot.cases", "bot.dates", "bot.people", "bot.summary", "bot.types", "policies", "storage"},
    "bot.records": {"bot.cases", "bot.dates", "bot.jobs", "bot.people", "bot.types", "dialogs", "policies", "storage"},
    "bot.conversation": {"bot.cases", "bot.dates", "bot.jobs", "bot.people", "bot.records", "bot.summary",
                         "bot.types", "dialogs", "policies", "storage"},
    "bot.admin": {"bot.cases", "bot.config", "bot.dates", "bot.jobs", "bot.people", "bot.records", "policies",
                  "storage"},
    "bot.door": {"bot.config", "bot.conversation", "bot.dates", "bot.jobs", "bot.types", "policies", "storage"},
    "bot.cli": {"bot.admin", "bot.app", "bot.cases", "bot.config", "bot.dates", "bot.door", "bot.jobs", "bot.people",
                "bot.records", "bot.summary", "policies", "storage"},
    "bot.__main__": {"bot.cli"},
    "adapters": {"bot.door"},
}


def imported(source: str, filename: str = "<source>") -> set[str]:
    """Every module a source imports anywhere (import, from-import with each name, importlib/__import__ calls)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                if isinstance(first.value, str):
                    found.add(first.value)
    return found


def modules() -> dict[str, Path]:
    out = {}
    for top in PROJECT:
        for path in sorted((REPO / top).rglob("*.py")):
            if SKIP_DIRS.intersection(path.relative_to(REPO).parts[:-1]):
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            out[name] = path
    return out


MODULES = modules()


def part_of(module: str) -> str:
    """The part of the project a module belongs to: `bot.<package>` inside bot/, else its top-level package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 1 else parts[0]


def project_imports(module: str) -> set[str]:
    """The project's modules (or packages) that `module` imports ("from a.b import c": a.b.c if that is a module,
    else a.b)."""
    out = set()
    for name in imported(MODULES[module].read_text(encoding="utf-8"), str(MODULES[module])):
        if name.split(".")[0] not in PROJECT:
            continue
        if name in MODULES:
            out.add(name)
        elif name.rsplit(".", 1)[0] in MODULES:
            out.add(name.rsplit(".", 1)[0])
    return out


def roots(module: str) -> set[str]:
    return {n.split(".")[0] for n in imported(MODULES[module].read_text(encoding="utf-8"))}


# --- the checker itself catches what it must ------------------------------------------------------------------


def test_checker_sees_every_kind_of_import() -> None:
    source = """
import os
import botbuilder.core as bc
from slack_sdk.web import WebClient
from . import sibling

def later():
    import aiohttp
    from botframework.connector import auth

class K:
    def m(self):
        import importlib
        importlib.import_module("slack_bolt.app")

if False:
    __import__("json")
"""
    assert {n.split(".")[0] for n in imported(source)} == {
        "os", "botbuilder", "slack_sdk", "aiohttp", "botframework", "importlib", "slack_bolt", "json"}
    assert "slack_sdk.web.WebClient" in imported(source)


def test_every_part_of_the_project_has_a_rule() -> None:
    parts = {part_of(m) for m in MODULES} - {ROOT, "bot"}
    assert parts <= set(LAYERS), f"no rule for {sorted(parts - set(LAYERS))}"
    assert {"adapters", "bot.door", "bot.conversation", "bot.cases", "bot.jobs", "storage"} <= parts


# --- the rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [m for m in MODULES if part_of(m) not in (ROOT, "bot")])
def test_each_part_imports_only_what_is_below_it(module: str) -> None:
    part = part_of(module)
    wrong = sorted(n for n in project_imports(module) if part_of(n) not in LAYERS[part] | {part})
    assert not wrong, f"{module} ({part}) imports {', '.join(wrong)}; it may import {sorted(LAYERS[part])}"


@pytest.mark.parametrize("module", [m for m in MODULES if part_of(m) == "adapters"])
def test_adapters_reach_the_core_only_through_its_door(module: str) -> None:
    core = sorted(n for n in project_imports(module) if n.split(".")[0] != "adapters" and n != "bot.door"
                  and not n.startswith("bot.door."))
    assert not core, f"{module} imports {', '.join(core)}: adapters use bot.door only"
    inside = sorted(n for n in project_imports(module) if n.startswith("bot.door."))
    assert not inside, f"{module} imports {', '.join(inside)}: import from bot.door itself, its one interface"


@pytest.mark.parametrize("module", [m for m in MODULES if part_of(m) != "adapters"])
def test_the_core_never_reaches_a_channel(module: str) -> None:
    reached = sorted(n for n in project_imports(module) if n.split(".")[0] == "adapters")
    assert not reached or module == ROOT, f"{module} imports {', '.join(reached)} (only {ROOT} wires channels)"


@pytest.mark.parametrize("module", [m for m in MODULES if part_of(m) != "adapters" and m != ROOT])
def test_core_imports_no_platform_sdk(module: str) -> None:
    bad = roots(module) & PLATFORM
    assert not bad, f"{module} imports {', '.join(sorted(bad))} (only {ROOT} and adapters/ may)"


@pytest.mark.parametrize("module", list(MODULES))
def test_only_the_teams_adapter_imports_botbuilder(module: str) -> None:
    if module.startswith("adapters.teams"):
        return
    bad = roots(module) & TEAMS_SDK
    assert not bad, f"{module} imports {', '.join(sorted(bad))} (only adapters/teams/ may)"


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = {m: project_imports(m) - {m} for m in MODULES}
    seen: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(module: str, path: list[str]) -> None:
        seen[module] = 1
        for target in sorted(graph[module]):
            if seen.get(target) == 1:
                circle = [*path[path.index(target):], target]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if target not in seen:
                walk(target, [*path, target])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            walk(module, [module])

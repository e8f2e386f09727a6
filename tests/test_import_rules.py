"""The architecture rule: the core never touches a chat platform's SDK or the web server.

dialogs/, storage/, policies/ and bot/ (except bot/app.py, the wiring module) import none of botbuilder,
botframework, slack_bolt, slack_sdk, aiohttp; and only adapters/teams/ may import botbuilder/botframework.
Every import counts, including ones inside functions or `if TYPE_CHECKING:` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE_DIRS = ("dialogs", "storage", "policies", "bot")
WIRING = {Path("bot/app.py")}
PLATFORM = {"botbuilder", "botframework", "slack_bolt", "slack_sdk", "aiohttp"}
TEAMS_SDK = {"botbuilder", "botframework"}
TEAMS_DIR = Path("adapters/teams")
SKIP_DIRS = {".venv", "venv", "tests", "data", "node_modules", "__pycache__", "build", "dist"}


def imported_roots(source: str, filename: str = "<source>") -> set[str]:
    """Top-level package names a module imports anywhere (import, from-import, importlib/__import__ calls)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                if isinstance(first.value, str):
                    roots.add(first.value.split(".")[0])
    return roots


def python_files(top: Path) -> list[Path]:
    return sorted(p for p in top.rglob("*.py") if not SKIP_DIRS.intersection(p.relative_to(REPO).parts[:-1]))


def core_files() -> list[Path]:
    files = [p for d in CORE_DIRS for p in python_files(REPO / d)]
    return [p for p in files if p.relative_to(REPO) not in WIRING]


def all_project_files() -> list[Path]:
    return [p for p in python_files(REPO) if not any(part.startswith(".") for part in p.relative_to(REPO).parts)]


# --- the checker itself catches what it must ------------------------------------------------------------------


def test_checker_sees_every_kind_of_import() -> None:
    source = """
import os
import botbuilder.core as bc
from slack_sdk.web import WebClient
from . import sibling
from .relative import thing

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
    assert imported_roots(source) == {
        "os",
        "botbuilder",
        "slack_sdk",
        "aiohttp",
        "botframework",
        "importlib",
        "slack_bolt",
        "json",
    }


def test_the_scan_finds_the_core_modules() -> None:
    found = {p.relative_to(REPO).parts[0] for p in core_files()}
    assert found == set(CORE_DIRS)
    names = {p.relative_to(REPO).as_posix() for p in core_files()}
    assert "bot/cli/main.py" in names
    assert "bot/app.py" not in names


# --- the rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_core_imports_no_platform_sdk(path: Path) -> None:
    bad = imported_roots(path.read_text(encoding="utf-8"), str(path)) & PLATFORM
    assert not bad, f"{path.relative_to(REPO)} imports {', '.join(sorted(bad))} (only bot/app.py and adapters/ may)"


@pytest.mark.parametrize("path", all_project_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_only_the_teams_adapter_imports_botbuilder(path: Path) -> None:
    rel = path.relative_to(REPO)
    if rel.parts[: len(TEAMS_DIR.parts)] == TEAMS_DIR.parts:
        return
    bad = imported_roots(path.read_text(encoding="utf-8"), str(path)) & TEAMS_SDK
    assert not bad, f"{rel} imports {', '.join(sorted(bad))} (only adapters/teams/ may)"

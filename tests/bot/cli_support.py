"""Running the real command line as a subprocess, for the CLI tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

POLICY_NAMES = {
    "surrey": "Surrey Safeguarding Children Partnership",
    "bcssp": "Bath & North East Somerset Community Safety and Safeguarding Partnership",
    "lincolnshire": "Lincolnshire Safeguarding Children Board",
    "medway": "Medway Safeguarding Children Board",
    "gloucestershire": "Gloucestershire Safeguarding Children Partnership",
}
PLATFORM_SDKS = ("aiohttp", "botbuilder", "botframework", "slack_bolt", "slack_sdk")


@pytest.fixture(scope="module")
def repo() -> Path:
    assert (REPO_ROOT / "bot" / "__main__.py").is_file()
    return REPO_ROOT


@pytest.fixture(scope="module")
def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}


def run_cli(repo: Path, env: dict[str, str], args: Iterable[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=repo,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_many(repo: Path, env: dict[str, str], commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run independent CLI calls side by side (each is a separate process)."""
    with ThreadPoolExecutor(max_workers=max(2, min(6, (os.cpu_count() or 2) * 2))) as pool:
        return list(pool.map(lambda args: run_cli(repo, env, args), commands))


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    """Assert a usage error: exit 2, nothing on stdout, exactly one line on stderr; return it."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def _surrey_copy(repo: Path, folder: Path) -> tuple[Path, list[str]]:
    """Copy surrey.toml into `folder`; return its path and its text split at each [[stages]] header."""
    folder.mkdir(exist_ok=True)
    target = folder / "surrey.toml"
    shutil.copy(repo / "policies" / "surrey.toml", target)
    parts = target.read_text(encoding="utf-8").split("[[stages]]\n")
    assert len(parts) == 6, "surrey.toml should have five [[stages]] tables"
    return target, parts


def _replace_in_stage(parts: list[str], index: int, *edits: tuple[str, str]) -> str:
    """Text with, for each (pattern, replacement), the first matching line of stages[index] replaced."""
    block = parts[index + 1]
    for pattern, replacement in edits:
        block, n = re.subn(pattern, replacement, block, count=1, flags=re.MULTILINE)
        assert n == 1, f"{pattern!r} not found in stages[{index}]"
    return "[[stages]]\n".join([*parts[: index + 1], block, *parts[index + 2 :]])

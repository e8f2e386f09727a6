"""The bot as it is installed: built as a wheel from a copy of the source (so a build writes nothing into the
checkout), installed, and run from a folder outside the source, so only what was installed is found."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# What the runtime is made of: the packages the wheel carries, whole (their data files too).
PACKAGES = ("adapters", "bot", "dialogs", "policies", "storage")
# What never goes into a copy of the source: environments, build output, caches, a developer's data and keys.
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "venv", "data", "*-keys", "build", "dist", "*.egg-info",
                                  "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".env")


def clean_env(home: Path, **settings: str) -> dict[str, str]:
    """An environment with nothing of the test run in it (no PYTHONPATH, no BOT_* setting, no virtual environment),
    plus `settings`."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", **settings}


def run(command: list[str], *, cwd: Path, env: dict[str, str],
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="session")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files (what a clone holds, without a developer's build output or data), in a folder of their
    own: a build there leaves the checkout as it was."""
    target = tmp_path_factory.mktemp("source") / "escalation-bot"
    shutil.copytree(ROOT, target, ignore=LEFT_OUT, symlinks=True)
    return target


@pytest.fixture(scope="session")
def wheel(source_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, as `pip wheel .` builds it, with the setuptools requirements-dev.txt pins (no build isolation:
    nothing is fetched)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", "--wheel-dir", str(out), "."], cwd=source_copy,
        env={**os.environ, "PIP_NO_INDEX": "1"})
    built = sorted(out.glob("*.whl"))
    assert len(built) == 1, built
    return built[0]


def env_file(path: Path) -> dict[str, str]:
    """The settings an EnvironmentFile= gives (NAME=value lines; # comments), as systemd reads deploy/env.example."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


def unit_file(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit's sections, each option with every value it is given (an option may be given more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    section: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = sections.setdefault(line[1:-1], {})
            continue
        name, _, value = line.partition("=")
        section.setdefault(name.strip(), []).append(value.strip())
    return sections


def pins(path: Path) -> dict[str, str]:
    """A requirements file's pins: each package's canonical name and its `==` version."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-r"):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==" and not requirement.marker and not requirement.extras, line
        found[canonicalize_name(requirement.name)] = spec.version
    return found

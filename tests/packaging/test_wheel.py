"""The wheel carries the runtime whole and nothing else, pins exactly what requirements.txt pins, and runs from where it
is installed: the policy files, the procedures' own texts and the demo directory are read from the installed packages,
never from the source."""

from __future__ import annotations

import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

from installed import PACKAGES, ROOT, clean_env, pins, run, source_copy, wheel  # noqa: F401  (fixtures)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def metadata(whl: Path) -> tuple[list[str], dict[str, list[str]]]:
    with zipfile.ZipFile(whl) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(info).decode("utf-8"))
        points = archive.read(info.replace("METADATA", "entry_points.txt")).decode("utf-8")
    fields = {key: message.get_all(key) or [] for key in ("Name", "Version", "Requires-Python", "Requires-Dist")}
    fields["entry_points"] = [line.strip() for line in points.splitlines() if line.strip()]
    return names, fields


def test_the_wheel_is_named_for_the_project_and_its_version(wheel: Path) -> None:
    version = PYPROJECT["project"]["version"]
    assert wheel.name == f"escalation_bot-{version}-py3-none-any.whl"
    _, fields = metadata(wheel)
    assert fields["Name"] == ["escalation-bot"] and fields["Version"] == [version]
    assert fields["Requires-Python"] == [">=3.11"]


def test_every_file_of_the_runtime_packages_is_in_the_wheel(wheel: Path, source_copy: Path) -> None:
    """Code and data alike (policy files, the procedures' texts under policies/sources, the demo directory): a data
    file added to a package without its pattern in pyproject.toml's package-data fails here."""
    names, _ = metadata(wheel)
    carried = {n for n in names if ".dist-info/" not in n}
    expected = {p.relative_to(source_copy).as_posix() for package in PACKAGES
                for p in (source_copy / package).rglob("*") if p.is_file()}
    assert expected - carried == set(), "missing from the wheel"
    assert {"policies/surrey.toml", "policies/sources/surrey.txt", "bot/people/demo/directory.csv",
            "bot/__main__.py", "bot/cli/main.py"} <= carried


def test_the_wheel_carries_nothing_but_the_runtime(wheel: Path) -> None:
    names, _ = metadata(wheel)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {*PACKAGES, f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert not [n for n in names if n.startswith(("tests/", "bench/", "manifest/", "docs/")) or "/tests/" in n
                or n.endswith((".pyc", ".key")) or "-keys/" in n]


def test_its_dependencies_are_requirements_txt_pins_exactly(wheel: Path) -> None:
    _, fields = metadata(wheel)
    declared: dict[str, str] = {}
    for line in fields["Requires-Dist"]:
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==" and not requirement.marker and not requirement.extras, line
        declared[canonicalize_name(requirement.name)] = spec.version
    assert declared == pins(ROOT / "requirements.txt")


def test_the_command_is_the_one_python_m_bot_runs(wheel: Path) -> None:
    _, fields = metadata(wheel)
    assert fields["entry_points"] == ["[console_scripts]", "escalation-bot = bot.cli.main:main"]
    assert PYPROJECT["project"]["scripts"] == {"escalation-bot": "bot.cli.main:main"}
    assert "from bot.cli.main import main" in (ROOT / "bot" / "__main__.py").read_text(encoding="utf-8")


def test_the_build_backend_is_pinned_as_the_development_tools_pin_it() -> None:
    """`make install` builds with pyproject.toml's [build-system] setuptools; the tests (and `make wheel` through
    them) with requirements-dev.txt's: one version."""
    (backend,) = PYPROJECT["build-system"]["requires"]
    requirement = Requirement(backend)
    dev = pins(ROOT / "requirements-dev.txt")
    assert requirement.name == "setuptools" and str(requirement.specifier) == f"=={dev['setuptools']}"


def test_installed_it_runs_from_anywhere_on_its_own_files(wheel: Path, tmp_path: Path) -> None:
    """Installed alone (its dependencies are this environment's), run from a folder outside the source: the
    procedures come from the installed package, with their own texts checked against the quotations."""
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)], cwd=elsewhere, env=clean_env(tmp_path))
    env = clean_env(tmp_path, PYTHONPATH=str(target))
    where = run([sys.executable, "-c", "import bot, policies.loader as l; print(bot.__file__); print(l.POLICY_DIR)"],
                cwd=elsewhere, env=env).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where
    expected = sorted(p.stem for p in (ROOT / "policies").glob("*.toml"))

    listed = run([sys.executable, "-m", "bot", "policies"], cwd=elsewhere, env=env).stdout
    assert [line.split("\t")[0] for line in listed.splitlines()] == expected
    script = run([str(target / "bin" / "escalation-bot"), "policies"], cwd=elsewhere, env=env).stdout
    assert script == listed

    timeline = run([sys.executable, "-m", "bot", "timeline", "--policy", "bcssp", "--raised", "2026-11-23", "--json"],
                   cwd=elsewhere, env=env).stdout
    assert '"overall_due"' in timeline
    # The demo directory is a data file of bot.people.demo, read through importlib.resources.
    counterpart = run([sys.executable, "-m", "bot", "counterpart", "--policy", "surrey", "--agency",
                       "Northshire Police", "--stage", "2"], cwd=elsewhere, env=env).stdout
    assert counterpart.strip() and "not in the directory" not in counterpart
    # A procedure's text missing beside its file would pass silently (the check is skipped): it must be there.
    assert sorted(p.stem for p in (target / "policies" / "sources").glob("*.txt")) == expected
    assert not list(elsewhere.iterdir()), "running it wrote into the working folder"

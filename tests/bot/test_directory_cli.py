"""The real command line, run as a subprocess: `python -m bot directory import | export` and `counterpart`."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "bot" / "people" / "demo" / "directory.csv"
HEADER = "email,name,agency,role,tier,line_manager,slack_id,teams_id,contact_for,partnerships"
SMALL = f"""{HEADER}
ann@agency-a.example.org,Ann Lee,Agency A,Team Manager,line_manager,,UANN,,safeguarding_lead,
bo@agency-a.example.org,Bo Sun,Agency A,Worker,practitioner,ann@agency-a.example.org,,,,surrey
cy@agency-b.example.net,Cy Ray,Agency B,"Inspector, Public Protection",senior_manager,,,29:cy,slo,
"""
BAD = f"""{HEADER}
ann@agency-a.example.org,Ann Lee,Agency A,Team Manager,boss,,,,,
bo@agency-a.example.org,Bo Sun,Agency A,Worker,practitioner,nobody@agency-a.example.org,,,,
ANN@agency-a.example.org,Ann Again,Agency A,,practitioner,,,,,nowhere
"""


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_then_export(tmp_path: Path, data: Path) -> None:
    path = write(tmp_path, "people.csv", SMALL)
    r = run_cli("directory", "import", path, "--data", data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Imported 3 people from {path} (2 agencies).\n"
    r = run_cli("directory", "export", "--data", data)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert rows(r.stdout) == rows(SMALL)
    again = write(tmp_path, "again.csv", r.stdout)
    assert run_cli("directory", "import", again, "--data", data).returncode == 0
    assert run_cli("directory", "export", "--data", data).stdout == r.stdout


def test_bad_file_is_refused_whole_and_the_directory_is_unchanged(tmp_path: Path, data: Path) -> None:
    assert run_cli("directory", "import", write(tmp_path, "good.csv", SMALL), "--data", data).returncode == 0
    before = run_cli("directory", "export", "--data", data).stdout
    bad = write(tmp_path, "bad.csv", BAD)
    r = run_cli("directory", "import", bad, "--data", data)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    problems = [
        "line 2: tier: unknown tier 'boss'",
        "line 3: line_manager: nobody@agency-a.example.org is not a person in this file",
        "line 4: partnerships: unknown policy id 'nowhere'",
        "line 4: email: ann@agency-a.example.org is also on line 2",
    ]
    assert len(lines) == len(problems) + 1
    for line, problem in zip(lines, problems, strict=False):
        assert line.startswith(f"{bad}: {problem}"), (line, problem)
    assert lines[-1] == f"error: {bad} was not imported (4 problems); nothing changed"
    assert run_cli("directory", "export", "--data", data).stdout == before


def test_import_of_a_missing_file(tmp_path: Path, data: Path) -> None:
    r = run_cli("directory", "import", tmp_path / "nope.csv", "--data", data)
    assert r.returncode == 2
    assert r.stderr == f"error: {tmp_path / 'nope.csv'}: no such file\n"
    assert not data.exists()


def test_export_without_an_import_gives_the_demo_directory(data: Path) -> None:
    r = run_cli("directory", "export", "--data", data)
    assert r.returncode == 0
    assert rows(r.stdout) == rows(DEMO.read_text(encoding="utf-8"))
    assert "demo directory" in r.stderr
    assert not data.exists()  # reading creates no data folder


def test_counterpart_found_in_the_demo_directory(data: Path) -> None:
    r = run_cli(
        "counterpart", "--policy", "medway", "--agency", "the northshire police", "--stage", "2", "--data", data
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "Sam Patel <sam.patel@northshire-police.example.org>, Detective Inspector, Northshire Police "
        "(senior manager / designated safeguarding lead)\n"
    )


def test_counterpart_uses_the_imported_directory(tmp_path: Path, data: Path) -> None:
    assert run_cli("directory", "import", write(tmp_path, "people.csv", SMALL), "--data", data).returncode == 0
    r = run_cli("counterpart", "--policy", "surrey", "--agency", "Agency A", "--stage", "3", "--data", data)
    assert r.stdout == "Ann Lee <ann@agency-a.example.org>, Team Manager, Agency A (line manager / supervisor)\n"
    r = run_cli("counterpart", "--policy", "surrey", "--agency", "Northshire Police", "--stage", "3", "--data", data)
    assert r.stdout.startswith("not in the directory: The other agency is not in the directory.")


def test_counterpart_not_in_the_directory(data: Path) -> None:
    r = run_cli("counterpart", "--policy", "surrey", "--agency", "Northshire Fire", "--stage", "4", "--data", data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "not in the directory: The other agency is not in the directory. Ask the professional you are dealing with "
        "for the name and contact details of their head or director of service: every agency has a duty to give the "
        "next contact at once (SSCP 6.3).\n"
    )


def test_counterpart_at_an_internal_stage(data: Path) -> None:
    r = run_cli("counterpart", "--policy", "surrey", "--agency", "Northshire Police", "--stage", "1", "--data", data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("none: Stage 1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "nowhere", "--stage", "1"], "error: unknown policy 'nowhere'; known policies: "),
        (["--policy", "surrey", "--stage", "9"], "error: surrey has no stage 9; its stages are 1, 2, 3, 4, 5"),
        (["--policy", "surrey", "--stage", "two"], "error: python -m bot counterpart: argument --stage: invalid int"),
    ],
)
def test_counterpart_usage_errors(data: Path, args: list[str], message: str) -> None:
    r = run_cli("counterpart", "--agency", "Northshire Police", *args, "--data", data)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith(message), r.stderr

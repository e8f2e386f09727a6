"""The real command line, run as a subprocess: `python -m bot policies | due | timeline`.

Expected dates are worked out by hand from the five procedures' timescales (see /work/shared/seeds/README.md)
and England's bank holidays: Christmas Day Fri 25 Dec 2026, Boxing Day observed Mon 28 Dec 2026, New Year's Day
Fri 1 Jan 2027, Good Friday 26 Mar 2027, Easter Monday 29 Mar 2027. A stage's due date is its start plus N
working days, counting from the day after the start.
"""

from __future__ import annotations

import json
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


# --- policies ---------------------------------------------------------------------------------------------------


def test_policies_lists_all_five_by_default(repo: Path, clean_env: dict[str, str]) -> None:
    r = run_cli(repo, clean_env, ["policies"])
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 5
    assert dict(line.split("\t") for line in lines) == POLICY_NAMES


def test_policies_lists_only_bot_policy(repo: Path, clean_env: dict[str, str]) -> None:
    r = run_cli(repo, clean_env, ["policies"], BOT_POLICY="medway,surrey")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"medway\t{POLICY_NAMES['medway']}", f"surrey\t{POLICY_NAMES['surrey']}"]


def test_policies_with_one_policy_and_spaces(repo: Path, clean_env: dict[str, str]) -> None:
    r = run_cli(repo, clean_env, ["policies"], BOT_POLICY=" gloucestershire ")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"gloucestershire\t{POLICY_NAMES['gloucestershire']}"]


def test_help_lists_the_commands(repo: Path, clean_env: dict[str, str]) -> None:
    r = run_cli(repo, clean_env, ["--help"])
    assert r.returncode == 0
    for command in ("policies", "due", "timeline", "chat", "serve"):
        assert re.search(rf"^\s+{command}\b", r.stdout, re.MULTILINE), command


# --- due --------------------------------------------------------------------------------------------------------

# (policy, stage, start, expected, why)
DUE_CASES = [
    # Surrey: every stage within 2 working days.
    ("surrey", 1, "2026-11-23", "2026-11-25", "Mon + 2 = Wed"),
    ("surrey", 1, "2026-11-26", "2026-11-30", "Thu + 2: Fri, (weekend), Mon"),
    ("surrey", 2, "2026-11-27", "2026-12-01", "Fri + 2: Mon, Tue"),
    ("surrey", 2, "2026-11-28", "2026-12-01", "Sat + 2: Mon, Tue"),
    ("surrey", 3, "2026-12-24", "2026-12-30", "Christmas: 25, 26-27, 28 skipped; Tue 29, Wed 30"),
    ("surrey", 4, "2026-12-31", "2027-01-05", "New Year: 1 Jan and weekend skipped; Mon 4, Tue 5"),
    ("surrey", 5, "2027-03-25", "2027-03-31", "Easter: Good Friday, weekend, Easter Monday skipped; Tue 30, Wed 31"),
    # BCSSP: 2, 3, 4, 5 working days.
    ("bcssp", 1, "2026-12-23", "2026-12-29", "Wed + 2: Thu 24, (25-28), Tue 29"),
    ("bcssp", 2, "2026-12-24", "2026-12-31", "Thu 24 + 3: 29, 30, 31"),
    ("bcssp", 3, "2026-12-29", "2027-01-05", "Tue 29 + 4: 30, 31, (1 Jan, weekend), 4, 5"),
    ("bcssp", 4, "2027-03-24", "2027-04-02", "Wed 24 Mar + 5: 25, (Easter), 30, 31, 1 Apr, 2 Apr"),
    ("bcssp", 4, "2026-11-23", "2026-11-30", "Mon + 5 = next Mon"),
    # Lincolnshire: no step has a timescale.
    ("lincolnshire", 1, "2026-12-24", "none", "no timescale"),
    ("lincolnshire", 2, "2026-11-23", "none", "no timescale"),
    ("lincolnshire", 3, "2027-03-25", "none", "no timescale"),
    ("lincolnshire", 4, "2026-11-28", "none", "no timescale"),
    # Medway: stages 1-3 within 5 working days; stage 4 (the board) none.
    ("medway", 1, "2026-12-21", "2026-12-30", "Mon 21 + 5: 22, 23, 24, (25-28), 29, 30"),
    ("medway", 2, "2026-12-30", "2027-01-07", "Wed 30 + 5: 31, (1 Jan, weekend), 4, 5, 6, 7"),
    ("medway", 3, "2027-03-24", "2027-04-02", "Wed 24 Mar + 5 over Easter"),
    ("medway", 4, "2026-12-21", "none", "stage 4 has no timescale"),
    # Gloucestershire: 5, 5, 5, then 10 working days.
    ("gloucestershire", 1, "2026-11-23", "2026-11-30", "Mon + 5 = next Mon"),
    ("gloucestershire", 2, "2027-03-25", "2027-04-05", "Thu 25 Mar + 5: (Easter), 30, 31, 1, 2, 5 Apr"),
    ("gloucestershire", 3, "2026-12-24", "2027-01-05", "Thu 24 + 5: 29, 30, 31, 4, 5"),
    ("gloucestershire", 4, "2026-12-18", "2027-01-06", "Fri 18 + 10: 21-24, 29-31, 4-6 Jan"),
]


def _due_args(policy: str, stage: int, start: str) -> list[str]:
    return ["due", "--policy", policy, "--stage", str(stage), "--start", start]


@pytest.fixture(scope="module")
def due_results(repo: Path, clean_env: dict[str, str]) -> dict[tuple[str, int, str], subprocess.CompletedProcess[str]]:
    keys = [(p, n, s) for p, n, s, _, _ in DUE_CASES]
    return dict(zip(keys, run_many(repo, clean_env, [_due_args(*k) for k in keys]), strict=True))


@pytest.mark.parametrize(
    ("policy", "stage", "start", "expected", "why"),
    DUE_CASES,
    ids=[f"{p}-{n}-{s}" for p, n, s, _, _ in DUE_CASES],
)
def test_due(
    due_results: dict[tuple[str, int, str], subprocess.CompletedProcess[str]],
    policy: str,
    stage: int,
    start: str,
    expected: str,
    why: str,
) -> None:
    r = due_results[(policy, stage, start)]
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout == expected + "\n", why


def test_due_works_with_bot_policy_set(repo: Path, clean_env: dict[str, str]) -> None:
    r = run_cli(repo, clean_env, _due_args("medway", 1, "2026-12-21"), BOT_POLICY="medway,surrey")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "2026-12-30\n"


# --- timeline ---------------------------------------------------------------------------------------------------

# (policy, raised, [stage dues], overall_due)
TIMELINE_CASES = [
    # Surrey from Mon 21 Dec 2026: 2 wd each, each stage starting when the previous one falls due.
    # 21 -> 23 -> (24, 29) 29 -> (30, 31) 31 -> (4, 5) 5 Jan -> (6, 7) 7 Jan.
    ("surrey", "2026-12-21", ["2026-12-23", "2026-12-29", "2026-12-31", "2027-01-05", "2027-01-07"], None),
    # Surrey over Easter from Wed 24 Mar 2027: -> 30 Mar -> 1 Apr -> 5 Apr -> 7 Apr -> 9 Apr.
    ("surrey", "2027-03-24", ["2027-03-30", "2027-04-01", "2027-04-05", "2027-04-07", "2027-04-09"], None),
    # BCSSP from Mon 21 Dec 2026: +2 -> 23 Dec; +3 (24, 29, 30) -> 30 Dec; +4 (31, 4, 5, 6) -> 6 Jan;
    # +5 (7, 8, 11, 12, 13) -> 13 Jan. Overall 10 wd from 21 Dec: 22,23,24,29,30,31,4,5,6,7 -> 7 Jan.
    ("bcssp", "2026-12-21", ["2026-12-23", "2026-12-30", "2027-01-06", "2027-01-13"], "2027-01-07"),
    # BCSSP over Easter from Mon 22 Mar 2027: +2 -> 24; +3 (25, 30, 31) -> 31; +4 (1, 2, 5, 6) -> 6 Apr;
    # +5 (7, 8, 9, 12, 13) -> 13 Apr. Overall: 23,24,25,30,31,1,2,5,6,7 -> 7 Apr.
    ("bcssp", "2027-03-22", ["2027-03-24", "2027-03-31", "2027-04-06", "2027-04-13"], "2027-04-07"),
    # Lincolnshire: no timescales at all.
    ("lincolnshire", "2026-12-21", [None, None, None, None], None),
    # Medway from Mon 21 Dec 2026: +5 -> 30 Dec; +5 -> 7 Jan; +5 (8, 11, 12, 13, 14) -> 14 Jan; stage 4 none.
    ("medway", "2026-12-21", ["2026-12-30", "2027-01-07", "2027-01-14", None], None),
    # Gloucestershire from Mon 21 Dec 2026: 30 Dec, 7 Jan, 14 Jan, then +10 (15, 18-22, 25-28) -> 28 Jan.
    ("gloucestershire", "2026-12-21", ["2026-12-30", "2027-01-07", "2027-01-14", "2027-01-28"], None),
    # Gloucestershire over Easter from Mon 22 Mar 2027: +5 (23, 24, 25, 30, 31) -> 31 Mar; +5 (1, 2, 5, 6, 7)
    # -> 7 Apr; +5 (8, 9, 12, 13, 14) -> 14 Apr; +10 (15, 16, 19-23, 26, 27, 28) -> 28 Apr.
    ("gloucestershire", "2027-03-22", ["2027-03-31", "2027-04-07", "2027-04-14", "2027-04-28"], None),
]


@pytest.fixture(scope="module")
def timeline_results(repo: Path, clean_env: dict[str, str]) -> dict[tuple[str, str], subprocess.CompletedProcess[str]]:
    keys = [(p, raised) for p, raised, _, _ in TIMELINE_CASES]
    commands = [["timeline", "--policy", p, "--raised", raised, "--json"] for p, raised in keys]
    return dict(zip(keys, run_many(repo, clean_env, commands), strict=True))


@pytest.mark.parametrize(
    ("policy", "raised", "dues", "overall"),
    TIMELINE_CASES,
    ids=[f"{p}-{raised}" for p, raised, _, _ in TIMELINE_CASES],
)
def test_timeline(
    timeline_results: dict[tuple[str, str], subprocess.CompletedProcess[str]],
    policy: str,
    raised: str,
    dues: list[str | None],
    overall: str | None,
) -> None:
    r = timeline_results[(policy, raised)]
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = json.loads(r.stdout)
    assert set(out) == {"policy", "stages", "overall_due"}
    assert out["policy"] == policy
    assert out["overall_due"] == overall
    assert [s["stage"] for s in out["stages"]] == list(range(1, len(dues) + 1))
    assert [s["due"] for s in out["stages"]] == dues
    for s in out["stages"]:
        assert set(s) == {"stage", "name", "due"}
        assert isinstance(s["name"], str)
        assert s["name"].strip()


def test_timeline_uses_the_procedures_own_stage_names(
    timeline_results: dict[tuple[str, str], subprocess.CompletedProcess[str]],
) -> None:
    # Surrey's headings, SSCP 6.4.
    names = [s["name"] for s in json.loads(timeline_results[("surrey", "2026-12-21")].stdout)["stages"]]
    assert names[:4] == [
        "Internal Discussion",
        "Inter-agency Discussion",
        "Escalation to Line Management/Second-Tier Management",
        "Escalation to Heads/Directors of Service",
    ]
    assert names[4].startswith("Escalation to the Surrey Safeguarding Children Partnership")


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


def test_after_a_stage_with_no_timescale_later_dues_are_unknown(
    repo: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    # Surrey with stage 2 made open-ended: stage 1 still falls due (Mon 23 Nov + 2 = Wed 25 Nov); stage 2 has no
    # date, so stages 3-5, which start when stage 2 is done, have none either.
    target, parts = _surrey_copy(repo, tmp_path / "policies")
    target.write_text(
        _replace_in_stage(parts, 1, (r"^working_days = \d+$", "no_timescale = true"), (r"^counts_from = .*\n", "")),
        encoding="utf-8",
    )
    r = run_cli(
        repo,
        clean_env,
        ["timeline", "--policy", "surrey", "--raised", "2026-11-23", "--json"],
        BOT_POLICY_DIR=str(target.parent),
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [s["due"] for s in out["stages"]] == ["2026-11-25", None, None, None, None]
    assert out["overall_due"] is None


# --- errors -----------------------------------------------------------------------------------------------------

SURREY_DUE = ["due", "--policy", "surrey", "--stage", "1"]

# (args, words the one error line must contain)
ERROR_CASES = [
    (["due", "--policy", "nowhere", "--stage", "1", "--start", "2026-11-23"], ["nowhere"]),
    (["timeline", "--policy", "nowhere", "--raised", "2026-11-23", "--json"], ["nowhere"]),
    ([*SURREY_DUE, "--start", "2026-02-30"], ["--start", "2026-02-30"]),
    ([*SURREY_DUE, "--start", "23/11/2026"], ["--start", "23/11/2026"]),
    ([*SURREY_DUE, "--start", "garbage"], ["--start", "garbage"]),
    ([*SURREY_DUE, "--start", "2026-11-5"], ["--start", "2026-11-5"]),
    ([*SURREY_DUE, "--start", ""], ["--start"]),
    (["timeline", "--policy", "surrey", "--raised", "2026-02-30", "--json"], ["--raised", "2026-02-30"]),
    (["timeline", "--policy", "surrey", "--raised", "23/11/2026", "--json"], ["--raised", "23/11/2026"]),
    (["timeline", "--policy", "surrey", "--raised", "garbage", "--json"], ["--raised", "garbage"]),
    (["due", "--policy", "surrey", "--stage", "6", "--start", "2026-11-23"], ["stage", "6"]),
    (["due", "--policy", "surrey", "--stage", "0", "--start", "2026-11-23"], ["stage", "0"]),
    (["due", "--policy", "medway", "--stage", "5", "--start", "2026-11-23"], ["stage", "5"]),
    (["due", "--policy", "surrey", "--stage", "two", "--start", "2026-11-23"], ["--stage", "two"]),
    (["due", "--policy", "surrey", "--stage", "1.5", "--start", "2026-11-23"], ["--stage", "1.5"]),
    (["due", "--policy", "surrey"], ["--stage", "--start"]),
    (["due"], ["--policy"]),
    (["timeline", "--policy", "surrey", "--json"], ["--raised"]),
    ([], ["COMMAND"]),
    (["frobnicate"], ["frobnicate"]),
    ([*SURREY_DUE, "--start", "2026-11-23", "--bogus"], ["--bogus"]),
    # A real date whose due date would lie past the end of the calendar (year 9999) is still a usage error.
    ([*SURREY_DUE, "--start", "9999-12-31"], []),
    (["timeline", "--policy", "bcssp", "--raised", "9999-12-30", "--json"], []),
]


@pytest.fixture(scope="module")
def error_results(repo: Path, clean_env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    return run_many(repo, clean_env, [args for args, _ in ERROR_CASES])


@pytest.mark.parametrize(
    ("index", "args", "words"),
    [(i, args, words) for i, (args, words) in enumerate(ERROR_CASES)],
    ids=[" ".join(args) or "no-command" for args, _ in ERROR_CASES],
)
def test_usage_error(
    error_results: list[subprocess.CompletedProcess[str]], index: int, args: list[str], words: list[str]
) -> None:
    line = one_error_line(error_results[index])
    for word in words:
        assert word in line, (word, line)


@pytest.mark.parametrize(
    ("index", "pattern", "replacement", "field"),
    [
        (1, r"^working_days = \d+$", "working_days = 0", "stages[1].working_days"),
        (2, r"^counts_from = .*$", 'counts_from = "sometime"', "stages[2].counts_from"),
        (0, r"^(cite = .*)$", '\\1\ncolour = "red"', "stages[0].colour"),  # a field the format does not know
        (3, r"^raiser_tier = .*$", 'raiser_tier = "boss"', "stages[3].raiser_tier"),
    ],
)
def test_malformed_policy_file_stops_policies_with_one_line(
    repo: Path, clean_env: dict[str, str], tmp_path: Path, index: int, pattern: str, replacement: str, field: str
) -> None:
    target, parts = _surrey_copy(repo, tmp_path / "policies")
    target.write_text(_replace_in_stage(parts, index, (pattern, replacement)), encoding="utf-8")
    line = one_error_line(run_cli(repo, clean_env, ["policies"], BOT_POLICY_DIR=str(target.parent)))
    assert "surrey.toml" in line
    assert field in line


def test_policy_file_that_is_not_toml_stops_policies_with_one_line(
    repo: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    target, _ = _surrey_copy(repo, tmp_path / "policies")
    target.write_text(target.read_text(encoding="utf-8") + "\n[[stages]\nnumber = = 6\n", encoding="utf-8")
    line = one_error_line(run_cli(repo, clean_env, ["policies"], BOT_POLICY_DIR=str(target.parent)))
    assert "surrey.toml" in line


def test_empty_policy_dir_stops_policies_with_one_line(repo: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    line = one_error_line(run_cli(repo, clean_env, ["policies"], BOT_POLICY_DIR=str(tmp_path)))
    assert tmp_path.name in line


# --- no platform SDK on the command-line path -------------------------------------------------------------------

_PROBE = """
import json, runpy, sys
sys.argv = ["bot", *json.loads(sys.argv[1])]
code = 0
try:
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
print("\\n" + json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["due", "--policy", "surrey", "--stage", "1", "--start", "2026-11-23"],
        ["timeline", "--policy", "bcssp", "--raised", "2026-12-21", "--json"],
        ["policies"],
    ],
    ids=["due", "timeline", "policies"],
)
def test_cli_path_imports_no_platform_sdk(repo: Path, clean_env: dict[str, str], args: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        cwd=repo,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.splitlines()[-1])
    assert report["code"] == 0, r.stderr
    assert "bot" in report["modules"]
    loaded = sorted(set(PLATFORM_SDKS) & set(report["modules"]))
    assert not loaded, f"`python -m bot {args[0]}` imported {loaded}"

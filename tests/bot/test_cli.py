"""The real command line, run as a subprocess: `python -m bot policies | due | timeline`.

Expected dates are worked out by hand from the five procedures' timescales (see /work/shared/seeds/README.md)
and England's bank holidays: Christmas Day Fri 25 Dec 2026, Boxing Day observed Mon 28 Dec 2026, New Year's Day
Fri 1 Jan 2027, Good Friday 26 Mar 2027, Easter Monday 29 Mar 2027. A stage's due date is its start plus N
working days, counting from the day after the start.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from cli_support import (  # noqa: F401  (fixtures)
    PLATFORM_SDKS,
    POLICY_NAMES,
    REPO_ROOT,
    _replace_in_stage,
    _surrey_copy,
    clean_env,
    one_error_line,
    repo,
    run_cli,
    run_many,
)

from policies.loader import load_policies

# --- policies ---------------------------------------------------------------------------------------------------


def test_policies_lists_every_procedure_by_default(repo: Path, clean_env: dict[str, str]) -> None:
    r = run_cli(repo, clean_env, ["policies"])
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    listed = dict(line.split("\t") for line in r.stdout.splitlines())
    assert listed == {pid: p.name for pid, p in load_policies(repo / "policies").items()}  # every file in policies/
    assert POLICY_NAMES.items() <= listed.items()  # the five seeds among them


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


def test_timeline_without_json_is_a_table_for_people(repo: Path, clean_env: dict[str, str]) -> None:
    """The default is for a person (aligned rows, dates written out); JSON only with --json."""
    bcssp, lincs = run_many(repo, clean_env, [["timeline", "--policy", "bcssp", "--raised", "2026-12-21"],
                                              ["timeline", "--policy", "lincolnshire", "--raised", "2026-12-21"]])
    assert bcssp.returncode == 0 and bcssp.stderr == "", bcssp.stderr
    assert not bcssp.stdout.lstrip().startswith("{")
    lines = bcssp.stdout.splitlines()
    assert "raised Mon 21 Dec 2026" in lines[0]
    header = lines.index(next(line for line in lines if line.startswith("Stage")))
    assert lines[header].split() == ["Stage", "Due", "by", "Name"]
    rows = lines[header + 1:header + 5]  # the same dates as the JSON (TIMELINE_CASES), one row per stage
    assert [r.split()[:5] for r in rows] == [["1", "Wed", "23", "Dec", "2026"], ["2", "Wed", "30", "Dec", "2026"],
                                             ["3", "Wed", "6", "Jan", "2027"], ["4", "Wed", "13", "Jan", "2027"]]
    assert rows[3].endswith("Refer concern to BCSSP")
    assert len({r.index(r.split()[1]) for r in rows}) == 1  # the due dates start in one column
    assert lines[-1].startswith("Overall cap: Thu 7 Jan 2027")
    assert lincs.returncode == 0 and "Step  Due by" in lincs.stdout
    assert lincs.stdout.count("no set timescale") == 4 and "Overall cap" not in lincs.stdout


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

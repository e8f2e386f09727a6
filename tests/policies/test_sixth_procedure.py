"""A partnership we have not seen writes its own policy file from policies/README.md alone, and it works end to end
with no code change: tests/policies/sixth/northshire.toml (fictional, Scottish, with its own levels, questions, form,
closure days, an overall cap that runs to resolution and a duty in calendar days) is put beside the five in a copy of
policies/, BOT_POLICY_DIR points at the copy, and a case is taken from opening through nudges, escalation to the last
level and resolution to its written record and form. The tests that go through every procedure are then run over the
copy too, the sixth among them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from conftest import CHILD_NAME, SEED_IDS, Chat
from docx import Document

from bot.app import build_core
from bot.config import read_settings
from bot.dates.clock import FixedClock
from bot.dates.workdays import LONDON, calendar_of
from bot.jobs.scheduler import SentNudge
from bot.people.counterparts import counterparts
from bot.people.directory_csv import demo_directory
from bot.records.files import render
from bot.records.forms import form_values
from policies.loader import POLICY_DIR, load_policies

SIXTH = Path(__file__).resolve().parent / "sixth" / "northshire.toml"
REPO = Path(__file__).resolve().parents[2]
JORDAN = "practitioner@example.org"
MARIA = "maria.lopez@northshire-council.example.org"  # a safeguarding lead for every partnership
# The tests that go through every procedure (their lists come from the policy folder: tests/conftest.py).
EVERY_PROCEDURE = [
    "tests/policies/test_policy_files.py", "tests/policies/test_policy_emergency.py",
    "tests/policies/test_policy_validation.py", "tests/adapters/teams/test_teams_cards.py",
    "tests/scenarios/test_scenario_harm.py", "tests/scenarios/test_scenario_early_resolution.py",
    "tests/scenarios/test_scenario_refusals.py", "tests/records/test_docx_layout.py",
    "tests/records/test_record_control_chars.py",
]


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LONDON)


def rows(content: bytes) -> dict[str, str]:
    """Every two-column table row of a Word document, label -> value."""
    tables = Document(BytesIO(content)).tables
    return {r.cells[0].text: r.cells[1].text for t in tables for r in t.rows if len(r.cells) == 2}


def text_of(content: bytes) -> str:
    document = Document(BytesIO(content))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """policies/ as shipped (the five with their procedures' texts), with the sixth file beside them: it has no text
    of its own in sources/, so its quotations are not checked (tests/policies/test_policy_quotes.py)."""
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR / "sources", target / "sources")
    for path in POLICY_DIR.glob("*.toml"):
        shutil.copy(path, target / path.name)
    shutil.copy(SIXTH, target / SIXTH.name)
    return target


async def test_a_sixth_procedure_runs_end_to_end_from_its_file_alone(folder, store, monkeypatch):
    monkeypatch.setenv("BOT_POLICY_DIR", str(folder))
    settings = read_settings()
    policies = load_policies(settings.policy_dir)
    assert set(SEED_IDS) | {"northshire"} <= set(policies)
    policy = policies["northshire"]
    clock = FixedClock(at(11, 27))  # Friday 27 November 2026, 10:00
    directory = demo_directory(list(policies))
    core = build_core(store, {"northshire": policy}, clock, directory=directory)
    jordan, maria = Chat(core, JORDAN), Chat(core, MARIA)

    async def tick(when) -> list[SentNudge]:
        clock.set(when)
        report = await core.jobs.run_pass(clock.now(), expire=False)
        await core.work.settle()
        return report.sent

    # Its own questions (the school is its own), its own words ("Level"), its own calendar: 2 working days from
    # Friday 27 November skip the weekend, St Andrew's Day (Monday 30 November, a Scottish bank holiday) and the
    # council's closure day (Wednesday 2 December): Tuesday 1 and Thursday 3 December.
    opened = await jordan.escalate(other_agency="Northshire Police", other_professional="Chris Walker",
                                   school="Northshire Primary")
    assert opened.kind == "case_opened", opened.text
    ref = opened.case_ref
    assert "Level 1: Talk it through, due by Thursday 3 December 2026" in opened.text
    # The cap runs to resolution: 8 working days from 27 November on the same calendar is Friday 11 December.
    assert "Overall: A professional challenge should be resolved within 8 working days" in opened.text
    assert "By Friday 11 December 2026 (NSP 3.5)" in opened.text
    assert not calendar_of(policy).is_working_day(at(12, 2).date())

    # Nudges on its working days only: none on St Andrew's Day or the closure day.
    assert await tick(at(11, 30, 9)) == []
    (before,) = await tick(at(12, 1, 9))
    assert before.kind == "before" and "Thursday 3 December 2026" in before.text
    assert await tick(at(12, 2, 9)) == []
    (due,) = await tick(at(12, 3, 9))
    assert due.kind == "due"

    # Escalated to Level 2 on Thursday 3 December: its duty runs in calendar days (7: Thursday 10 December).
    clock.set(at(12, 3, 11))
    await maria.say(f"escalate {ref}")
    (moved,) = await maria.say("Still unresolved.")
    assert moved.kind == "escalate" and "Level 2: Managers meet, due by Tuesday 8 December 2026" in moved.text
    assert "To do (1) by Thursday 10 December 2026: Send the Challenge Log to the partnership office. (NSP 5.1)" in (
        moved.text)
    # Where the directory cannot name the next contact, its own words say who must give it.
    sides = counterparts(directory, policy, 2, directory.find(JORDAN), "", "Fire Service")
    assert "each agency must name its next contact on request (NSP 3.6)" in " ".join(sides.notes)

    # To the last level on Friday 4 December: the overall cap still runs there (it runs to resolution).
    clock.set(at(12, 4, 11))
    await maria.say(f"escalate {ref}")
    (last,) = await maria.say("The managers could not agree.")
    assert "Level 3: Chair decides, due by Friday 11 December 2026" in last.text
    # The final stage said once; a binding decision in the file's words where it has them, else "final and binding".
    assert "Level 3: Chair decides, due by Friday 11 December 2026 (NSP 4.3). This is the final stage." in last.text
    assert "Its decision is final and binding (NSP 4.3)." in last.text
    case = await store.get("cases", ref)
    assert any(n["kind"] == "overall" and n["status"] == "pending" and n["stage"] == 3 for n in case["nudges"])
    sent = await tick(at(12, 10, 9))  # Thursday 10 December: the cap's and the duty's day, and Level 3's "before"
    assert sorted(s.kind for s in sent) == ["before", "duty", "overall"]
    assert any("falls due by Thursday 10 December 2026: notify NSP partnership office" in s.text for s in sent)

    # Resolved: final and binding, as its file says.
    clock.set(at(12, 10, 15))
    await maria.say(f"resolve {ref}")
    await maria.say("The Chair decided a strategy meeting is held.")
    (resolved,) = await maria.say("The Chair reviews it in a month.")
    assert resolved.kind == "resolve" and "final and binding" in resolved.text
    case = await store.get("cases", ref)
    assert await tick(at(12, 11, 9)) == []  # closed: the cap's and the level's nudges are over

    # The written record and its own form, every field filled from its own mapping (the signature is by hand).
    record = text_of(render(case, policy, "record", "docx", directory).content)
    assert "Level 3: Chair decides" in record and "NSP Professional Challenge Protocol" in record
    values = rows(render(case, policy, "challenge_log", "docx", directory).content)
    assert values["Log reference"].startswith(ref)
    assert values["Date raised"] == "27 November 2026"
    assert values["Child's name"] == CHILD_NAME
    assert values["School or setting"] == "Northshire Primary"
    assert values["Level 1: dates"] == "27 November 2026 to 3 December 2026 (due by 3 December 2026)"
    assert values["Level 1: result"] == ("Not resolved; referred to Level 2 on 3 December 2026. "
                                         "Reason: Still unresolved.")
    assert values["Referred to the Chair on"] == "4 December 2026"
    assert values["Chair's decision"].startswith("Resolved on 10 December 2026: The Chair decided a strategy meeting")
    assert values["Signature"] == ""
    assert [f.id for f, value in form_values(case, policy, policy.forms["challenge_log"], directory) if not value] == [
        "signature"]


def test_the_tests_that_go_through_every_procedure_take_in_the_sixth(folder):
    """Run with BOT_POLICY_DIR at the copy, they collect the sixth as one more procedure, and it passes them."""
    env = {**os.environ, "BOT_POLICY_DIR": str(folder)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-k", "northshire",
                          *EVERY_PROCEDURE], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    passed = [line for line in run.stdout.splitlines() if line.startswith("PASSED") and "northshire" in line]
    files = {line.split("::")[0].removeprefix("PASSED ") for line in passed}
    assert files == set(EVERY_PROCEDURE), run.stdout[-3000:]

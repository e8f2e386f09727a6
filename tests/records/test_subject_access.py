"""Subject access through the command line (`python -m bot subject-access REF | --agency-ref TEXT --out PATH`) on a
store sealed as deployed: everything held about the case in one owner-only JSON file, opened; matched by the raising
agency's own reference, whole and ignoring letter case; audited without what was asked or found; refused when nothing
matches."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import stat
from pathlib import Path

import pytest
from conftest import CHILD_DOB, CHILD_NAME
from records_kit import LENA, Desk, at, bot, fresh_copy

from bot.config import deployment_store, read_settings
from bot.jobs.outbox import Letter
from bot.types import Reply
from policies.loader import load_policies

OPERATOR = f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"
FIRST, SECOND, THIRD = "ESC-2026-0001", "ESC-2026-0002", "ESC-2026-0003"
OWED = "nudge:ESC-2026-0001:1:due:2026-11-30"


async def build(data: Path) -> None:
    """Three cases: the first two carry the agency's reference NS-4471 (typed differently), the third another one;
    the first two each have a message owed in the outbox."""
    policies = load_policies()
    async with deployment_store(read_settings({}), data) as store:
        desk = Desk(store, {"medway": policies["medway"]}, at(2026, 11, 23))
        assert await desk.open_case() == FIRST  # (agency_reference NS-4471, the child Tallulah Quenby-Marsh)
        await desk.escalate(LENA, FIRST, at(2026, 11, 24))
        assert await desk.open_case(at(2026, 11, 25), agency_reference="ns-4471", child_name="Another Child") == SECOND
        assert await desk.open_case(at(2026, 11, 26), agency_reference="NS-44710", child_name="A Third Child") == THIRD
        letter = Letter(OWED, Reply(f"{FIRST}: Stage 2 is due today.", case_ref=FIRST), case=FIRST,
                        created_at=at(2026, 11, 30, 9).isoformat())
        await store.put("outbox", OWED, letter.to_doc())
        other = Letter(OWED.replace(FIRST, SECOND), Reply(f"{SECOND}: Stage 1 is due today.", case_ref=SECOND),
                       case=SECOND, created_at=at(2026, 11, 30, 9).isoformat())
        await store.put("outbox", other.key, other.to_doc())
        await store.put("teams_messages", "a:chat|m1", {"text": f"{FIRST}: Stage 2 is due today.", "ref": FIRST})
        await store.put("teams_messages", "a:chat|m2", {"text": f"{SECOND}: Stage 1.", "ref": SECOND})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("access")
    asyncio.run(build(folder / "data"))
    return folder


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    return fresh_copy(template, tmp_path)


def audit(cwd: Path, data: Path) -> list[dict[str, str]]:
    done = bot(cwd, "audit", "--format", "json", "--data", data)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, str]] = json.loads(done.stdout)
    return rows


def test_everything_held_about_a_case_in_one_owner_only_file(tmp_path: Path, data: Path) -> None:
    assert bot(tmp_path, "export", FIRST, "--format", "md", "--data", data).returncode == 0  # (an earlier read)
    out = tmp_path / "request-17.json"
    done = bot(tmp_path, "subject-access", FIRST.lower(), "--out", out, "--data", data)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"Wrote {out}: everything held about 1 case(s) ({FIRST}), readable by you only. It holds a "
                           "child's details: keep it as securely as the case records.\n")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    assert text.startswith('{\n  "subject_access": {\n')  # (indented two spaces)
    found = json.loads(text)
    assert found["subject_access"]["by"] == OPERATOR and found["subject_access"]["matched"] == {"ref": FIRST}
    assert found["subject_access"]["cases"] == [FIRST]
    [held] = found["cases"]
    case = held["case"]  # whole, and opened: what the store keeps sealed is readable here
    assert case["ref"] == FIRST
    assert case["child"]["child_name"] == CHILD_NAME and case["child"]["child_dob"] == CHILD_DOB
    assert case["details"]["agency_reference"] == "NS-4471"
    assert case["details"]["disputed"] == "The referral was closed without a strategy discussion."
    assert [s["stage"] for s in case["stages"]] == [1, 2] and case["stages"][0]["reason"]
    assert [e["action"] for e in case["events"]] == ["opened", "escalated"]
    assert "duties" in case and case["nudges"]
    assert [e["action"] for e in held["audit_log"]] == ["case_opened", "record_exported"]
    assert held["channel_messages"] == [{"key": "a:chat|m1", "text": f"{FIRST}: Stage 2 is due today.", "ref": FIRST}]
    owed = {m["key"]: m for m in held["outbox"]}  # (the messages the escalation queued, and the one seeded)
    assert (owed[OWED]["status"], owed[OWED]["reply"]["text"]) == ("pending", f"{FIRST}: Stage 2 is due today.")
    assert {m["case"] or m["reply"]["case_ref"] for m in owed.values()} == {FIRST}  # (none of another case's)

    rows = [r for r in audit(tmp_path, data) if r["action"] == "subject_access"]
    assert [(r["case"], r["policy"], r["who"]) for r in rows] == [(FIRST, "medway", OPERATOR)]
    assert rows[0]["detail"] == "everything held written to a file; 1 case(s) found by its reference"
    again = bot(tmp_path, "subject-access", FIRST, "--out", tmp_path, "--data", data)  # a folder: named by the case
    assert again.returncode == 0, again.stderr
    later = json.loads((tmp_path / f"{FIRST}-subject-access.json").read_text(encoding="utf-8"))["cases"][0]
    assert [e["action"] for e in later["audit_log"]] == ["case_opened", "record_exported",
                                                         "subject_access"]  # (the first one's)


def test_by_the_agency_reference_whole_and_ignoring_letter_case(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "sar.json"
    done = bot(tmp_path, "subject-access", "--agency-ref", " Ns-4471 ", "--out", out, "--data", data)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(f"Wrote {out}: everything held about 2 case(s) ({FIRST}, {SECOND})")
    assert "Check that each case is about the person asking" in done.stdout  # (more than one case found)
    found = json.loads(out.read_text(encoding="utf-8"))
    assert [c["ref"] for c in found["cases"]] == [FIRST, SECOND]  # not NS-44710: the whole reference, not a part
    assert [c["case"]["child"]["child_name"] for c in found["cases"]] == [CHILD_NAME, "Another Child"]
    assert found["subject_access"]["matched"] == {"agency_reference": "Ns-4471"}
    assert [[m["reply"]["text"] for m in c["outbox"] if m["key"].startswith("nudge:")] for c in found["cases"]] == [
        [f"{FIRST}: Stage 2 is due today."], [f"{SECOND}: Stage 1 is due today."]]
    rows = audit(tmp_path, data)
    logged = [r for r in rows if r["action"] == "subject_access"]
    assert [r["case"] for r in logged] == [FIRST, SECOND]
    assert {r["detail"] for r in logged} == {
        "everything held written to a file; 2 case(s) found by the raising agency's reference"}
    listed = json.dumps(rows)
    assert "4471" not in listed and CHILD_NAME not in listed and "sar.json" not in listed


@pytest.mark.parametrize(("args", "message"), [
    (["subject-access", "ESC-2026-9999", "--out", "x.json"], "error: no case ESC-2026-9999"),
    (["subject-access", "--agency-ref", "NS-447", "--out", "x.json"], "error: no case carries that agency reference"),
    (["subject-access", "--agency-ref", "  ", "--out", "x.json"], "error: --agency-ref must not be empty"),
    (["subject-access", "nonsense", "--out", "x.json"], "error: REF must be a case reference like ESC-2026-0001"),
    (["subject-access", FIRST, "--agency-ref", "NS-4471", "--out", "x.json"], "not allowed with argument"),
    (["subject-access", "--out", "x.json"], "one of the arguments REF --agency-ref is required"),
    (["subject-access", FIRST], "the following arguments are required: --out"),
    (["subject-access", FIRST, "--out", "nowhere/x.json"], "error: --out: no such folder nowhere"),
])
def test_refusals_exit_2_with_one_line_write_nothing_and_log_nothing(tmp_path: Path, data: Path, args: list[str],
                                                                     message: str) -> None:
    before = audit(tmp_path, data)
    done = bot(tmp_path, *args, "--data", data)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ") and message in done.stderr, \
        done.stderr
    assert "447" not in done.stderr  # (an agency's reference typed is never repeated)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "data-keys"]
    assert [r["action"] for r in audit(tmp_path, data)] == [r["action"] for r in before] + ["audit_exported"]


def test_the_file_replaces_a_symlink_and_never_writes_through_it(tmp_path: Path, data: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    link = tmp_path / "sar.json"
    link.symlink_to(victim)
    assert bot(tmp_path, "subject-access", FIRST, "--out", link, "--data", data).returncode == 0
    assert not link.is_symlink() and stat.S_IMODE(link.stat().st_mode) == 0o600
    assert json.loads(link.read_text(encoding="utf-8"))["cases"][0]["ref"] == FIRST
    assert victim.read_text() == "someone else's file"

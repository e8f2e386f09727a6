"""The console channel, scripted through piped standard input as a person would use it."""

from __future__ import annotations

import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from conftest import CHILD_DOB, CHILD_NAME

from bot.dates.workdays import calendar_for, london_today

ROOT = Path(__file__).resolve().parents[2]

SURREY_SESSION = [
    "escalate",
    "no",  # immediate risk
    "today",
    "Northshire Police",
    "DS Jane Doe",
    "Detective Sergeant",
    "2",  # category
    "The referral was closed without a strategy discussion.",
    "The child remains exposed to domestic abuse.",
    "A strategy discussion this week.",
    "yes",
    "no",
    "1",  # child protection plan
    "NS-4471",
    CHILD_NAME,
    CHILD_DOB,
    "confirm",  # the answers shown back
]


def chat(tmp_path: Path, lines: list[str], *args: str, user: str = "practitioner@example.org",
         cwd: Path = ROOT, data: Path | None = None):
    """A console session as the demo directory's practitioner (Jordan Ellis, Northshire Children's Services)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", user, "--data", str(data or tmp_path / "data"), *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


def test_scripted_console_session_opens_a_case(tmp_path):
    result = chat(tmp_path, SURREY_SESSION, "--policy", "surrey")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Case ESC-20" in out and "is open under the Surrey Safeguarding Children Partnership" in out
    assert "Stage 1: Internal Discussion, due by" in out
    assert CHILD_NAME not in out and CHILD_DOB not in out  # not echoed, not said
    assert "you> (withheld)" in out
    # the answers shown back before the case opened: the child's details (and typed text) only as "(given)"
    assert "bot> Please check your answers before the case is opened:" in out
    assert "bot>   12. Which of these applies to the child? Subject to a child protection plan" in out
    assert "bot>   14. The child's name: (given)" in out and "bot>   15. The child's date of birth: (given)" in out
    assert out.index("Please check your answers") < out.index("Case ESC-20")
    # a date of birth is offered (and takes) only a date written out
    assert "bot> The child's date of birth, for the written record only (optional; never shown in chat).\n" \
           "bot>   (YYYY-MM-DD or DD/MM/YYYY)\n" in out
    ref = out.split("Case ", 1)[1].split(" ", 1)[0]
    assert "Lena Okafor" in out  # the practitioner's line manager acts at Stage 1 (from the directory)
    again = chat(tmp_path, [f"status {ref}"], "--policy", "surrey")
    assert f"{ref} (SSCP): open, at Stage 1" in again.stdout


def test_someone_not_in_the_directory_is_asked_who_they_are(tmp_path):
    lines = ["escalate", "no", "Northshire Academy", "Teacher", "Ms Head, head@academy.example", *SURREY_SESSION[2:]]
    result = chat(tmp_path, lines, "--policy", "surrey", user="newcomer@example.net")
    assert "You are not in this bot's directory yet" in result.stdout
    assert "Case ESC-20" in result.stdout


def test_console_resumes_a_dialog_after_restart(tmp_path):
    first = chat(tmp_path, SURREY_SESSION[:5], "--policy", "surrey")
    assert "What is their role?" in first.stdout
    second = chat(tmp_path, ["escalate", *SURREY_SESSION[5:]], "--policy", "surrey")
    assert "You are already answering questions" in second.stdout
    assert "Case ESC-20" in second.stdout


def test_console_gives_the_emergency_route_when_a_child_is_at_immediate_risk(tmp_path):
    result = chat(tmp_path, ["escalate", "yes"], "--policy", "bcssp")
    assert "Immediate risk of harm: act now." in result.stdout
    assert "24 hours" in result.stdout


def test_console_refuses_a_bad_user_and_a_second_process_on_the_same_store(tmp_path):
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", "not-an-email"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--user" in bad.stderr
    holder = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--user", "a@example.org", "--data", str(tmp_path / "data")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert holder.stdout is not None
        holder.stdout.readline()  # the greeting: the store is open
        second = chat(tmp_path, ["help"])
        assert second.returncode == 1 and "store in use" in second.stderr
    finally:
        holder.communicate("quit\n", timeout=30)


def test_coming_back_shows_the_waiting_question_and_a_child_detail_answer_is_not_echoed(tmp_path):
    first = chat(tmp_path, SURREY_SESSION[:-2], "--policy", "surrey")  # left at the child's date of birth
    assert "you> (withheld)" in first.stdout  # (the child's name)
    second = chat(tmp_path, [CHILD_DOB, "confirm"], "--policy", "surrey")
    assert "You were answering questions; your answers so far are kept. The question was:" in second.stdout
    assert "Case ESC-20" in second.stdout
    assert CHILD_DOB not in second.stdout and "you> (withheld)" in second.stdout


def test_an_agreed_new_date_is_checked_when_it_is_given_and_no_answer_is_lost(tmp_path):
    """Gloucestershire allows an extension: a date that is not a working day after today is asked again at once,
    and the answers after it are all applied (they were thrown away once the date was found wrong at the end)."""
    opened = chat(tmp_path, SURREY_SESSION, "--policy", "gloucestershire")
    ref = opened.stdout.split("Case ", 1)[1].split(" ", 1)[0]
    day = calendar_for("ENG").add_working_days(london_today(datetime.now(UTC)), 3)
    result = chat(tmp_path, [f"extend {ref}", "today", "2020-01-06", day.isoformat(), "Lena Okafor, TM",
                             "Priya Nair, DS", "School input needed."], "--policy", "gloucestershire")
    out = result.stdout
    assert "bot> What new date have both agencies agreed?\nbot>   (a working day after today: YYYY-MM-DD or " \
           "DD/MM/YYYY)" in out
    assert "today or yesterday" not in out.split(f"you> extend {ref}", 1)[1]
    assert out.count("bot> The new date must be after today") == 2
    assert f"is now due by {day:%A} {day.day} {day:%B %Y}, as both agencies agreed" in out
    assert "did not understand" not in out


LENA = "lena.okafor@northshire-council.example.org"  # Jordan's team manager in the demo directory


def opened_ref(out: str) -> str:
    return out.split("Case ", 1)[1].split(" ", 1)[0]


def test_actions_in_the_console_print_no_warnings(tmp_path):
    """A console session has no case threads of its own: what the raiser does is answered here, what someone else
    does reaches the raiser when they next open the console. Neither is a problem to warn anyone about."""
    first = chat(tmp_path, SURREY_SESSION, "--policy", "surrey")
    ref = opened_ref(first.stdout)
    raiser = chat(tmp_path, [f"contact {ref} DS Ray Hart, 01234 567890", f"escalate {ref}", "Still not agreed.",
                             f"harm {ref}", f"status {ref}"], "--policy", "surrey")
    assert f"{ref} is escalated to Stage 2" in raiser.stdout
    manager = chat(tmp_path, [f"escalate {ref}", "Still not agreed at Stage 2.", f"resolve {ref}",
                              "A strategy discussion is booked.", "Both managers review it in a week."],
                   "--policy", "surrey", user=LENA)
    assert f"{ref} is resolved at Stage 3" in manager.stdout
    back = chat(tmp_path, [], "--policy", "surrey")  # the manager's changes reach the raiser's console
    assert f"[{ref}]" in back.stdout and "resolved" in back.stdout
    for session in (first, raiser, manager, back):
        assert session.returncode == 0 and session.stderr == "", session.stderr
        assert "not posted" not in session.stdout and "WARNING" not in session.stdout


def test_a_console_log_line_is_worded_for_a_person(tmp_path):
    """A real problem still shows, as a short line without module names (here: a data file the store cannot read)."""
    chat(tmp_path, SURREY_SESSION[:3], "--policy", "surrey")
    for found in (tmp_path / "data").rglob("*"):
        if found.is_file() and "dialogs" in found.parts:
            found.write_text("not a record")
    result = chat(tmp_path, ["help"], "--policy", "surrey")
    lines = [line for line in result.stderr.splitlines() if line]
    assert lines[0].startswith("(note) unreadable record file"), result.stderr
    assert all(line.startswith(("(note) ", "(problem) ", "error: ")) for line in lines), result.stderr
    assert "bot." not in result.stderr and "WARNING" not in result.stderr and "Traceback" not in result.stderr


def test_record_is_saved_in_the_data_folders_private_records_folder_not_the_current_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    ref = opened_ref(chat(tmp_path, SURREY_SESSION, "--policy", "surrey").stdout)
    result = chat(tmp_path, [f"record {ref}"], "--policy", "surrey", cwd=work)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    folder = (tmp_path / "data" / "records").resolve()
    saved = folder / f"{ref}-record.docx"
    assert f"Saved the written record to {saved}" in result.stdout
    assert saved.read_bytes().startswith(b"PK")  # a .docx (a zip)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert list(work.iterdir()) == []  # nothing left where the console was started


def test_record_is_never_saved_where_git_would_track_it(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    subprocess.run(["git", "init", "-q", str(checkout)], check=True, env={"PATH": "/usr/bin:/bin"})
    data = checkout / "data"
    ref = opened_ref(chat(tmp_path, SURREY_SESSION, "--policy", "surrey", data=data).stdout)
    refused = chat(tmp_path, [f"record {ref}"], "--policy", "surrey", data=data)
    assert "The written record was not saved" in refused.stdout and "git checkout" in refused.stdout
    assert not list((data / "records").glob("*.docx"))
    (checkout / ".gitignore").write_text("/data/\n")  # as this repository ignores its own ./data
    saved = chat(tmp_path, [f"record {ref}"], "--policy", "surrey", data=data)
    assert "Saved the written record to" in saved.stdout and (data / "records" / f"{ref}-record.docx").exists()

"""The records commands run as subprocesses (`python -m bot.cli.records`, and `python -m bot` once wired):
export, audit and purge, including their usage errors (exit 2, one line on stderr)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import CHILD_NAME
from records_kit import DAVID, LENA, Desk, at, fields

from bot.dates.workdays import LONDON
from policies.loader import load_policies
from storage.tinydb_store import TinyDBStore

REPO = Path(__file__).resolve().parents[2]
OLD = "ESC-2016-0001"
DEDUPE_LINE = "dedupe record(s) of chat events older than 7 days (kept only to ignore platform retries)."
DIALOG_LINE = "unfinished form(s) untouched for 14 days (never opened as cases; they may hold a child's details)."


async def build(data: Path) -> str:
    """An old BCSSP case closed in March 2016, and a Medway case opened a week ago, now at Stage 3."""
    policies = load_policies()
    async with TinyDBStore(data) as store:
        desk = Desk(store, {"bcssp": policies["bcssp"], "medway": policies["medway"]}, at(2016, 3, 1))
        assert await desk.open_case(policy_id="bcssp") == OLD
        await desk.resolve(LENA, OLD, at(2016, 3, 2))
        week_ago = datetime.now(LONDON).replace(microsecond=0) - timedelta(days=7)
        recent = await desk.open_case(week_ago, policy_id="medway")
        await desk.escalate(LENA, recent, week_ago + timedelta(days=1))
        await desk.escalate(DAVID, recent, week_ago + timedelta(days=2))
    return recent


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("records") / "data"
    return path, asyncio.run(build(path))


@pytest.fixture
def data(template: tuple[Path, str], tmp_path: Path) -> Path:
    return Path(shutil.copytree(template[0], tmp_path / "data"))


@pytest.fixture
def recent(template: tuple[Path, str]) -> str:
    return template[1]


def run(cwd: Path, *args: str | Path, module: str = "bot.cli.records", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**clean, "PYTHONPATH": str(REPO), **env}, timeout=60, check=False)


def test_export_docx_writes_the_case_record_here_readable_only_by_its_owner(tmp_path, data, recent):
    done = run(tmp_path, "export", recent.lower(), "--format", "docx", "--data", data)
    assert done.returncode == 0, done.stderr
    path = tmp_path / f"{recent}-record.docx"
    assert done.stdout.splitlines() == [f"Wrote {path.name}: {recent} case record.",
                                        "Forms for this case: stage3_alert (export one with --form ID)."]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fields(path.read_bytes())[("The child", "Name")] == CHILD_NAME
    assert CHILD_NAME not in done.stdout + done.stderr


def test_export_a_form_to_a_chosen_file_or_folder(tmp_path, data, recent):
    out = tmp_path / "alert.docx"
    assert run(tmp_path, "export", recent, "--format", "docx", "--form", "stage3_alert", "--out", out,
               "--data", data).returncode == 0
    got = fields(out.read_bytes())
    assert got[("Child", "Name of Child")] == CHILD_NAME and got[("Child", "DOB")] == "3 February 2015"
    assert got[("Concern", "Requested Action")] == "A strategy discussion this week."
    folder = tmp_path / "records"
    folder.mkdir()
    assert run(tmp_path, "export", OLD, "--format", "docx", "--form", "appendix2", "--out", folder,
               "--data", data).returncode == 0
    got = fields((folder / f"{OLD}-appendix2.docx").read_bytes())
    assert got[("Final Outcomes", "Date")] == "2 March 2016"


def test_export_md_prints_the_chronology_or_writes_it(tmp_path, data, recent):
    done = run(tmp_path, "export", recent, "--format", "md", "--data", data)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"# Chronology of {recent}\n")
    assert f"| Child's name | {CHILD_NAME} |" in done.stdout and "| Date | Who | What |" in done.stdout
    out = tmp_path / "c.md"
    assert run(tmp_path, "export", recent, "--format", "md", "--out", out, "--data", data).returncode == 0
    assert out.read_text(encoding="utf-8") == done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["export", "ESC-2026-9999", "--format", "docx"], "error: no case ESC-2026-9999"),
    (["export", "nonsense", "--format", "docx"], "error: REF must be a case reference like ESC-2026-0001"),
    (["export", "{recent}", "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
    (["export", "{recent}"], "the following arguments are required: --format"),
    (["export", "{recent}", "--format", "docx", "--form", "appendix2"], "error: medway has no form 'appendix2'"),
    (["export", "{recent}", "--format", "md", "--form", "record"], "error: Markdown is made for the chronology only"),
    (["export", "{recent}", "--format", "docx", "--out", "nowhere/x.docx"], "error: --out: no such folder nowhere"),
    (["audit", "--format", "csv", "--since", "2026-13-01"], "error: --since must be a real date"),
    (["audit", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
    (["purge"], "one of the arguments --dry-run --yes is required"),
    (["purge", "--dry-run", "--yes"], "argument --yes: not allowed with argument --dry-run"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, data, recent, args, message):
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run(tmp_path, *[a.replace("{recent}", recent) for a in args], "--data", data)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr and done.stderr.startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_audit_csv_and_json_with_since(tmp_path, data, recent):
    assert run(tmp_path, "export", recent, "--format", "md", "--data", data).returncode == 0
    done = run(tmp_path, "audit", "--format", "csv", "--data", data)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0]) == ["at", "case", "policy", "who", "action", "detail"]
    assert [(r["case"], r["action"]) for r in rows[:2]] == [(OLD, "opened"), (OLD, "resolved")]
    assert [r["action"] for r in rows if r["case"] == recent] == ["opened", "escalated", "escalated",
                                                                   "record_exported"]
    assert rows[-1]["who"].startswith("cli")
    assert CHILD_NAME not in done.stdout
    since = (datetime.now(LONDON) - timedelta(days=30)).date().isoformat()
    later = json.loads(run(tmp_path, "audit", "--since", since, "--format", "json", "--data", data).stdout)
    assert later[:-1] == [r for r in rows if r["case"] == recent]
    assert later[-1]["action"] == "audit_exported" and later[-1]["case"] == ""  # the CSV run, logged


def test_purge_dry_run_then_for_real(tmp_path, data, recent):
    dry = run(tmp_path, "purge", "--dry-run", "--data", data)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0].startswith("Would remove 1 case(s) closed before ")
    assert "(retention: 6 years after closure, BOT_RETENTION_YEARS)" in lines[0]
    assert lines[1:] == [f"{OLD}\tbcssp\tclosed 2016-03-02", "Dry run: nothing was changed; run with --yes to remove "
                         "them.", f"Would remove 0 {DIALOG_LINE}", f"Would remove 0 {DEDUPE_LINE}"]
    assert run(tmp_path, "export", OLD, "--format", "md", "--data", data).returncode == 0  # still there

    real = run(tmp_path, "purge", "--yes", "--data", data)
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[0].startswith("Removed 1 case(s) closed before ")
    assert re.fullmatch(r"Recorded in the audit log as entry \d+\.", real.stdout.splitlines()[-3])
    assert real.stdout.splitlines()[-2:] == [f"Removed 0 {DIALOG_LINE}", f"Removed 0 {DEDUPE_LINE}"]
    gone = run(tmp_path, "export", OLD, "--format", "md", "--data", data)
    assert gone.returncode == 2 and gone.stderr == f"error: no case {OLD}\n"
    assert run(tmp_path, "export", recent, "--format", "md", "--data", data).returncode == 0  # open: kept
    rows = json.loads(run(tmp_path, "audit", "--format", "json", "--data", data).stdout)
    purged = [r for r in rows if r["action"] == "purged"]
    assert [(r["case"], r["policy"]) for r in purged] == [(OLD, "bcssp")]
    assert [r["action"] for r in rows if r["case"] == OLD] == ["record_exported", "purged"]  # the case's own are gone
    again = run(tmp_path, "purge", "--yes", "--data", data)
    assert again.stdout.startswith("Nothing to remove: no case was closed before ")


def test_purge_removes_the_consoles_saved_copies_of_a_purged_case(tmp_path, data, recent):
    """`record REF` in the console saves a copy in <data>/records: it goes with its case, never outliving it."""
    from adapters.console import RECORDS
    from bot.records.files import PRIVATE_FOLDER

    assert RECORDS == PRIVATE_FOLDER  # (the console and the purge name one folder)
    folder = data / PRIVATE_FOLDER
    folder.mkdir(mode=0o700)
    old = [folder / f"{OLD}-record.docx", folder / f"{OLD}-appendix2.docx"]
    kept = [folder / f"{recent}-record.docx", folder / f"{OLD}0-record.docx", folder / "notes.txt"]
    for path in (*old, *kept):
        path.write_bytes(b"copy")
    dry = run(tmp_path, "purge", "--dry-run", "--data", data)
    assert f"Would remove 2 saved copy(ies) of their written records in {folder}." in dry.stdout
    assert all(p.exists() for p in (*old, *kept))
    real = run(tmp_path, "purge", "--yes", "--data", data)
    assert real.returncode == 0 and f"Removed 2 saved copy(ies) of their written records in {folder}." in real.stdout
    assert not any(p.exists() for p in old) and all(p.exists() for p in kept)
    assert real.stdout.splitlines()[-2:] == [f"Removed 0 {DIALOG_LINE}", f"Removed 0 {DEDUPE_LINE}"]


def test_purge_counts_expired_dedupe_records_in_a_dry_run_and_removes_them_for_real(tmp_path, data):
    now = datetime.now(LONDON)
    records = {"slack-event:Ev-old": {"at": (now - timedelta(days=10)).isoformat()},
               "slack-view:V-corrupt": {},
               "slack-event:Ev-fresh": {"at": (now - timedelta(minutes=3)).isoformat()}}
    dialogs = {"abandoned": {"touched_at": (now - timedelta(days=15)).isoformat(), "answers": {"child_name": "X"}},
               "in-progress": {"touched_at": (now - timedelta(hours=1)).isoformat()}}

    async def put_and_list(records: dict[str, dict[str, str]]) -> list[str]:
        async with TinyDBStore(data) as store:
            for key, doc in records.items():
                await store.put("events", key, doc)
            for key, doc in dialogs.items():
                await store.put("dialogs", key, doc)
            return sorted(await store.keys("events"))

    async def dialog_keys() -> list[str]:
        async with TinyDBStore(data) as store:
            return sorted(await store.keys("dialogs"))

    assert len(asyncio.run(put_and_list(records))) == 3
    dry = run(tmp_path, "purge", "--dry-run", "--data", data, BOT_RETENTION_YEARS="20")
    assert dry.returncode == 0, dry.stderr
    first, *rest = dry.stdout.splitlines()
    assert first.startswith("Nothing to remove: no case was closed before ")  # the cases' line is unchanged
    assert rest == [f"Would remove 1 {DIALOG_LINE}", f"Would remove 1 {DEDUPE_LINE}"]
    assert len(asyncio.run(put_and_list({}))) == 3
    real = run(tmp_path, "purge", "--yes", "--data", data, BOT_RETENTION_YEARS="20")
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[1:] == [f"Removed 1 {DIALOG_LINE}", f"Removed 1 {DEDUPE_LINE}"]
    assert asyncio.run(dialog_keys()) == ["abandoned", "in-progress"][1:]
    assert asyncio.run(put_and_list({})) == ["slack-event:Ev-fresh", "slack-view:V-corrupt"]  # (stamped: goes later)
    assert run(tmp_path, "export", OLD, "--format", "md", "--data", data).returncode == 0  # no case went


@pytest.mark.parametrize("value", ["abc", "0", "101", "6.5", ""])
def test_a_bad_retention_period_is_refused(tmp_path, data, value):
    done = run(tmp_path, "purge", "--dry-run", "--data", data, BOT_RETENTION_YEARS=value)
    assert done.returncode == 2
    assert done.stderr == (f"error: BOT_RETENTION_YEARS must be a whole number of years from 1 to 100 "
                           f"(found {value!r})\n")


def test_a_longer_retention_period_keeps_the_old_case(tmp_path, data):
    done = run(tmp_path, "purge", "--yes", "--data", data, BOT_RETENTION_YEARS="20")
    assert done.returncode == 0 and done.stdout.startswith("Nothing to remove")
    assert "retention: 20 years after closure" in done.stdout
    assert run(tmp_path, "export", OLD, "--format", "md", "--data", data).returncode == 0


def test_a_missing_data_folder_is_not_created(tmp_path):
    missing = tmp_path / "none"
    assert run(tmp_path, "audit", "--format", "csv", "--data", missing).stdout == "at,case,policy,who,action,detail\n"
    assert run(tmp_path, "purge", "--yes", "--data", missing).stdout.startswith("Nothing to remove")
    done = run(tmp_path, "export", OLD, "--format", "docx", "--data", missing)
    assert done.returncode == 2 and done.stderr.startswith(f"error: no case {OLD}")
    assert not missing.exists()


def test_wired_into_python_m_bot(tmp_path, data, recent):
    if run(tmp_path, "export", "--help", module="bot").returncode != 0:
        pytest.skip("bot/cli.py does not add the records commands yet")
    done = run(tmp_path, "export", recent, "--format", "md", "--data", data, module="bot")
    assert done.returncode == 0 and done.stdout.startswith(f"# Chronology of {recent}")
    assert run(tmp_path, "purge", "--data", data, module="bot").returncode == 2


def real_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def test_the_operator_is_the_process_user_whatever_logname_says(tmp_path, data, recent):
    forged = dict.fromkeys(("LOGNAME", "USER", "LNAME", "USERNAME"), "someone-else")
    assert run(tmp_path, "export", recent, "--format", "md", "--data", data, **forged).returncode == 0
    rows = json.loads(run(tmp_path, "audit", "--format", "json", "--data", data, **forged).stdout)
    assert rows[-1]["action"] == "record_exported" and rows[-1]["who"] == f"cli:{real_user()}"


def test_an_operator_with_no_passwd_entry_is_named_by_uid(monkeypatch):
    from bot.admin import ops

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(ops.pwd, "getpwuid", no_entry)
    monkeypatch.setenv("LOGNAME", "someone-else")
    assert ops.operator() == f"cli:{os.geteuid()}"


def test_each_audit_run_is_logged_and_shows_from_the_next_run_on(tmp_path, data):
    first = run(tmp_path, "audit", "--format", "csv", "--data", data)
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert "audit_exported" not in {r["action"] for r in rows}  # a run's own entry is not in its own output
    second = json.loads(run(tmp_path, "audit", "--since", "2016-01-01", "--format", "json", "--data", data).stdout)
    assert second[:-1] == rows
    logged = second[-1]
    assert datetime.fromisoformat(logged.pop("at")) > datetime.now(LONDON) - timedelta(minutes=5)
    assert logged == {"case": "", "policy": "", "who": f"cli:{real_user()}", "action": "audit_exported",
                      "detail": f"format csv; all dates; {len(rows)} row(s)"}
    third = json.loads(run(tmp_path, "audit", "--format", "json", "--data", data).stdout)
    assert [r["detail"] for r in third if r["action"] == "audit_exported"] == [
        f"format csv; all dates; {len(rows)} row(s)", f"format json; since 2016-01-01; {len(second)} row(s)"]


def test_export_replaces_an_existing_file_or_symlink_with_a_new_0600_file(tmp_path, data, recent):
    out = tmp_path / "record.docx"
    out.write_bytes(b"an older export")
    out.chmod(0o644)
    assert run(tmp_path, "export", recent, "--format", "docx", "--out", out, "--data", data).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert fields(out.read_bytes())[("The child", "Name")] == CHILD_NAME

    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    victim.chmod(0o644)
    link = tmp_path / "chronology.md"
    link.symlink_to(victim)
    assert run(tmp_path, "export", recent, "--format", "md", "--out", link, "--data", data).returncode == 0
    assert not link.is_symlink() and stat.S_IMODE(link.stat().st_mode) == 0o600
    assert link.read_text(encoding="utf-8").startswith(f"# Chronology of {recent}")
    assert victim.read_text() == "someone else's file" and stat.S_IMODE(victim.stat().st_mode) == 0o644

    dangling = tmp_path / "dangling.docx"
    dangling.symlink_to(tmp_path / "elsewhere.docx")
    assert run(tmp_path, "export", recent, "--format", "docx", "--out", dangling, "--data", data).returncode == 0
    assert not dangling.is_symlink() and not (tmp_path / "elsewhere.docx").exists()
    assert stat.S_IMODE(dangling.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chronology.md", "dangling.docx", "data", "record.docx",
                                                          "victim.txt"]  # no temporary file left behind


def test_export_a_case_whose_answers_carry_control_characters(tmp_path, data, recent):
    async def paste() -> None:
        async with TinyDBStore(data) as store:
            case = await store.get("cases", recent)
            assert case is not None
            case["details"]["disputed"] = "line1\x0bline2\x00"
            case["stages"][0]["reason"] = "Pasted\x0creason\x1b"
            await store.put("cases", recent, case)

    asyncio.run(paste())
    docx = run(tmp_path, "export", recent, "--format", "docx", "--data", data)
    assert docx.returncode == 0, docx.stderr
    assert fields((tmp_path / f"{recent}-record.docx").read_bytes())[
        ("The disagreement", "The decision in dispute")] == "line1\nline2"
    md = run(tmp_path, "export", recent, "--format", "md", "--data", data)
    assert md.returncode == 0, md.stderr
    assert "Reason: Pasted<br>reason" in md.stdout and "\x0c" not in md.stdout

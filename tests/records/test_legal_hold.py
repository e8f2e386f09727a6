"""Legal hold through the command line (`python -m bot hold|release`) on a store sealed as deployed: a held case
survives purge however long ago it closed, until it is released; the reason is kept sealed with the case and never
reaches the audit log or the terminal; refusals change nothing and exit 2 with one line."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
from datetime import datetime
from pathlib import Path

import pytest
from conftest import CHILD_NAME
from records_kit import LENA, Desk, at, bot, fresh_copy

from bot.config import deployment_store, read_settings
from bot.dates.workdays import LONDON
from policies.loader import load_policies

HELD = "ESC-2016-0001"  # closed March 2016: long past six years
OTHER = "ESC-2016-0002"  # closed April 2016, never held
OPERATOR = f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"
REASON = f"Civil claim 2026/114 about {CHILD_NAME}"  # (typed text naming the child, as an operator might)


async def build(data: Path) -> None:
    policies = load_policies()
    async with deployment_store(read_settings({}), data) as store:
        desk = Desk(store, {"bcssp": policies["bcssp"]}, at(2016, 3, 1))
        assert await desk.open_case() == HELD
        await desk.resolve(LENA, HELD, at(2016, 3, 2))
        assert await desk.open_case(at(2016, 4, 4)) == OTHER
        await desk.resolve(LENA, OTHER, at(2016, 4, 5))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hold")
    asyncio.run(build(folder / "data"))
    return folder


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sealed data folder and its data keys beside it."""
    return fresh_copy(template, tmp_path)


def audit(cwd: Path, data: Path) -> list[dict[str, str]]:
    done = bot(cwd, "audit", "--format", "json", "--data", data)
    assert done.returncode == 0, done.stderr
    assert CHILD_NAME not in done.stdout and "2026/114" not in done.stdout  # never the reason, never the child
    rows: list[dict[str, str]] = json.loads(done.stdout)
    return rows


async def stored(data: Path) -> dict:
    """The held case as the store opens it (its sealed fields opened)."""
    async with deployment_store(read_settings({}), data) as store:
        case = await store.get("cases", HELD)
        assert case is not None
        return case


def exists(cwd: Path, data: Path, ref: str) -> bool:
    done = bot(cwd, "export", ref, "--format", "md", "--data", data)
    assert done.returncode in (0, 2), done.stderr
    return done.returncode == 0


def test_a_held_case_survives_purge_until_it_is_released(tmp_path: Path, data: Path) -> None:
    today = datetime.now(LONDON).date().isoformat()
    held = bot(tmp_path, "hold", HELD.lower(), "--reason", REASON, "--data", data)
    assert held.returncode == 0, held.stderr
    assert held.stdout.startswith(f"{HELD} is on legal hold from {today}: purge keeps it")
    assert CHILD_NAME not in held.stdout + held.stderr

    dry = bot(tmp_path, "purge", "--dry-run", "--data", data)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0].startswith("Would remove 1 case(s) closed before ")
    assert lines[1:4] == [f"{OTHER}\tbcssp\tclosed 2016-04-05", f"Held, not removed: {HELD} (legal hold since {today})",
                          "Dry run: nothing was changed; run with --yes to remove them."]

    real = bot(tmp_path, "purge", "--yes", "--data", data)
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[1:3] == [f"{OTHER}\tbcssp\tclosed 2016-04-05",
                                             f"Held, not removed: {HELD} (legal hold since {today})"]
    assert exists(tmp_path, data, HELD) and not exists(tmp_path, data, OTHER)
    again = bot(tmp_path, "purge", "--yes", "--data", data).stdout.splitlines()  # only the held case is left
    assert again[0].startswith("Nothing to remove: every case closed before ")
    assert again[0].endswith(" is on legal hold. The purge is in the audit log.")
    assert again[1] == f"Held, not removed: {HELD} (legal hold since {today})"

    rows = audit(tmp_path, data)
    hold = [r for r in rows if r["action"] == "hold"]  # the case's own event and the audit log's entry
    assert len(hold) == 2 and {(r["case"], r["policy"], r["who"]) for r in hold} == {(HELD, "bcssp", OPERATOR)}
    kept = [r for r in rows if r["action"] == "held_not_purged"]
    assert [r["case"] for r in kept] == [HELD, HELD]  # listed by each real purge's entry
    assert kept[0]["detail"].startswith(f"on legal hold since {today}: kept; closed 2016-03-02; closed before ")
    purged = [r for r in rows if r["action"] == "purged"]
    assert [r["case"] for r in purged] == [OTHER, ""]  # the second purge removed nothing, and says why
    assert purged[1]["detail"].startswith("no case removed: every case closed before ")
    assert [r["detail"] for r in rows if r["action"] == "purge_dry_run"] == [
        "1 case(s) would be removed, 1 kept on legal hold; retention 6 years"]

    released = bot(tmp_path, "release", HELD, "--data", data)
    assert released.returncode == 0, released.stderr
    assert released.stdout.startswith(f"{HELD} is no longer on legal hold (held since {today} by cli:")
    assert "released" in [r["action"] for r in audit(tmp_path, data) if r["case"] == HELD]
    after = bot(tmp_path, "purge", "--yes", "--data", data).stdout.splitlines()
    assert after[0].startswith("Removed 1 case(s) closed before ") and after[1] == f"{HELD}\tbcssp\tclosed 2016-03-02"
    assert not exists(tmp_path, data, HELD)
    rows = audit(tmp_path, data)  # the case's own events went with it; the audit log's entries stay
    assert [r["action"] for r in rows if r["case"] == HELD and r["action"] in ("hold", "released", "purged")] == [
        "hold", "released", "purged"]


def test_the_reason_is_sealed_at_rest_and_the_chronology_shows_the_hold(tmp_path: Path, data: Path) -> None:
    assert bot(tmp_path, "hold", HELD, "--reason", REASON, "--data", data).returncode == 0
    for path in [*data.rglob("*"), *(data.parent / "data-keys").rglob("*")]:
        if path.is_file():
            raw = path.read_bytes()
            assert b"2026/114" not in raw and CHILD_NAME.encode() not in raw, path

    case = asyncio.run(stored(data))
    assert case["hold"]["reason"] == REASON and case["hold"]["by"].startswith("cli:")
    assert datetime.fromisoformat(case["hold"]["at"]).date() == datetime.now(LONDON).date()
    md = bot(tmp_path, "export", HELD, "--format", "md", "--data", data)
    assert "Placed on legal hold: kept past its retention period until released." in md.stdout
    assert "2026/114" not in md.stdout  # the reason is not part of the written record's chronology

    assert bot(tmp_path, "release", HELD, "--data", data).returncode == 0
    assert "hold" not in asyncio.run(stored(data))
    md = bot(tmp_path, "export", HELD, "--format", "md", "--data", data)
    today = datetime.now(LONDON).date()
    assert f"Released from legal hold \\(held since {today.day} {today:%B %Y}\\)." in md.stdout  # (Markdown)


@pytest.mark.parametrize(("args", "message"), [
    (["hold", "ESC-2026-9999", "--reason", "Matter 1"], "error: no case ESC-2026-9999"),
    (["hold", "nonsense", "--reason", "Matter 1"], "error: REF must be a case reference like ESC-2026-0001"),
    (["hold", HELD, "--reason", "   "], "error: --reason must say why the case is held"),
    (["hold", HELD], "the following arguments are required: --reason"),
    (["release", HELD], f"error: {HELD} is not on legal hold; nothing changed"),
    (["release", "ESC-2026-9999"], "error: no case ESC-2026-9999"),
])
def test_refusals_exit_2_with_one_line_and_change_nothing(tmp_path: Path, data: Path, args: list[str],
                                                          message: str) -> None:
    before = audit(tmp_path, data)
    done = bot(tmp_path, *args, "--data", data)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ") and message in done.stderr, \
        done.stderr
    after = audit(tmp_path, data)
    assert [r["action"] for r in after] == [r["action"] for r in before] + ["audit_exported"]  # (the first audit)


def test_holding_twice_is_refused_and_keeps_the_first_hold(tmp_path: Path, data: Path) -> None:
    today = datetime.now(LONDON).date().isoformat()
    assert bot(tmp_path, "hold", HELD, "--reason", REASON, "--data", data).returncode == 0
    twice = bot(tmp_path, "hold", HELD, "--reason", "Another matter", "--data", data)
    assert twice.returncode == 2 and twice.stdout == ""
    assert twice.stderr.startswith(f"error: {HELD} is already on legal hold since {today} (by cli:")
    assert twice.stderr.rstrip().endswith("nothing changed (release it first to hold it for another reason)")
    assert len(twice.stderr.splitlines()) == 1
    rows = audit(tmp_path, data)
    assert len([r for r in rows if r["action"] == "hold"]) == 2  # one hold: its case event and its log entry
    assert asyncio.run(stored(data))["hold"]["reason"] == REASON  # the first reason, kept

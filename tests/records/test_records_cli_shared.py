"""export and audit while the bot is serving (`python -m bot serve`, a real server holding the store): they open the
store in shared mode beside it, keep standard output clean, and leave audit entries the bot's store keeps. purge and
directory import are done by the running bot itself (tests/deploy/test_live_admin.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import CHILD_NAME
from records_kit import LENA, Desk

from bot.dates.workdays import LONDON
from policies.loader import load_policies
from storage.tinydb_store import TinyDBStore

REPO = Path(__file__).resolve().parents[2]


def bot(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return subprocess.run([sys.executable, "-m", "bot", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**clean, "PYTHONPATH": str(REPO)}, timeout=60, check=False)


async def build(data: Path) -> str:
    """One Medway case opened three days ago and escalated to Stage 2."""
    policies = load_policies()
    start = datetime.now(LONDON).replace(microsecond=0) - timedelta(days=3)
    async with TinyDBStore(data) as store:
        desk = Desk(store, {"medway": policies["medway"]}, start)
        ref = await desk.open_case(policy_id="medway")
        await desk.escalate(LENA, ref, start + timedelta(days=1))
    return ref


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`python -m bot serve` on a loopback port over `data`, as `make run` starts it."""

    def __init__(self, data: Path) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "MICROSOFT_", "TEAMS_"))}
        self.log = data.parent / "server.log"  # a file, so the server's logging never waits for a reader
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(free_port()), "--data", str(data)],
                cwd=data.parent, env={**clean, "PYTHONPATH": str(REPO)}, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # printed once the server is up, its store open
        if not first.startswith("Escalation bot listening on"):
            self.proc.kill()
            raise AssertionError(f"the server did not start: {first} {self.log.read_text()}")
        deadline = time.monotonic() + 10
        while (data / ".lock").read_text().strip() != str(self.proc.pid):
            assert time.monotonic() < deadline, "the server never took the store's lock"
            time.sleep(0.05)

    def stop(self) -> int:
        """Stop it as Ctrl-C does (once; later calls only return its exit code)."""
        if self.proc.stdout is None or self.proc.stdout.closed:
            return self.proc.wait()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        out, _ = self.proc.communicate()
        self.output = out + self.log.read_text()
        return self.proc.returncode


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    return data, asyncio.run(build(data))


@pytest.fixture
def server(case: tuple[Path, str]) -> Iterator[Server]:
    running = Server(case[0])
    yield running
    running.stop()


def note_line(done: subprocess.CompletedProcess[str], server: Server, data: Path) -> None:
    """Exactly one line on stderr: the note that the store was opened beside the running bot."""
    assert done.stderr.splitlines() == [f"note: process {server.proc.pid} (the running bot?) has {data} open; "
                                        "working beside it in shared mode (reads, and new audit-log entries only)"]


def test_export_and_audit_work_while_the_server_runs(tmp_path: Path, case: tuple[Path, str], server: Server) -> None:
    data, ref = case
    in_flight = data / "tmp" / "w-in-flight.tmp"  # as if the server were writing right now
    in_flight.write_text('{"half')

    md = bot(tmp_path, "export", ref, "--format", "md", "--data", data)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith(f"# Chronology of {ref}\n") and f"| Child's name | {CHILD_NAME} |" in md.stdout
    note_line(md, server, data)
    docx = bot(tmp_path, "export", ref, "--format", "docx", "--data", data)
    assert docx.returncode == 0, docx.stderr
    assert docx.stdout.splitlines()[0] == f"Wrote {ref}-record.docx: {ref} case record."
    assert stat.S_IMODE((tmp_path / f"{ref}-record.docx").stat().st_mode) == 0o600
    with ThreadPoolExecutor(3) as pool:  # side by side: each adds its own audit entry
        parallel = list(pool.map(lambda _: bot(tmp_path, "export", ref, "--format", "md", "--data", data), range(3)))
    assert [done.returncode for done in parallel] == [0, 0, 0], [done.stderr for done in parallel]

    as_csv = bot(tmp_path, "audit", "--format", "csv", "--data", data)
    assert as_csv.returncode == 0, as_csv.stderr
    note_line(as_csv, server, data)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))  # standard output is the CSV and nothing else
    assert as_csv.stdout.startswith("at,case,policy,who,action,detail\n")
    assert [r["action"] for r in rows] == ["opened", "escalated"] + ["record_exported"] * 5
    assert all(r["who"].startswith("cli") for r in rows[2:])
    as_json = bot(tmp_path, "audit", "--format", "json", "--data", data)
    assert as_json.returncode == 0, as_json.stderr
    note_line(as_json, server, data)
    listed = json.loads(as_json.stdout)
    assert listed[:-1] == rows  # each audit run is logged, and shows from the next run on
    assert (listed[-1]["action"], listed[-1]["detail"]) == ("audit_exported",
                                                            f"format csv; all dates; {len(rows)} row(s)")

    assert server.proc.poll() is None  # the server ran throughout, still owning its store and its temp file
    assert (data / ".lock").read_text() == f"{server.proc.pid}\n"
    assert in_flight.exists()
    assert server.stop() == 0, server.output
    after = bot(tmp_path, "audit", "--format", "json", "--data", data)  # the owner's store kept every entry
    assert after.returncode == 0 and "note:" not in after.stderr  # opened exclusively: no note
    kept = json.loads(after.stdout)
    assert kept[:-1] == listed
    assert (kept[-1]["action"], kept[-1]["detail"]) == ("audit_exported",
                                                        f"format json; all dates; {len(listed)} row(s)")
    assert not in_flight.exists()  # the exclusive open cleans tmp/ (and logs it), as the server's next start would


def test_subject_access_works_while_the_server_runs(tmp_path: Path, case: tuple[Path, str], server: Server) -> None:
    data, ref = case
    out = tmp_path / "sar.json"
    done = bot(tmp_path, "subject-access", ref, "--out", out, "--data", data)
    assert done.returncode == 0, done.stderr
    note_line(done, server, data)
    found = json.loads(out.read_text(encoding="utf-8"))
    assert found["cases"][0]["case"]["child"]["child_name"] == CHILD_NAME
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert server.stop() == 0, server.output
    rows = json.loads(bot(tmp_path, "audit", "--format", "json", "--data", data).stdout)
    assert [(r["case"], r["action"]) for r in rows] == [(ref, "opened"), (ref, "escalated"), (ref, "subject_access")]

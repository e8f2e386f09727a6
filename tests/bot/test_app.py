"""The web server: /healthz through the aiohttp test client, and `python -m bot serve` as a user starts it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from conftest import Chat, core_for

from bot.app import build_app, scheduler_loop
from bot.dates.workdays import LONDON
from bot.jobs.outbox import ChannelInfo
from bot.people.directory_csv import demo_directory
from bot.types import Reply, ThreadRef
from policies.loader import POLICY_DIR, load_policies
from storage.base import StoreError
from storage.memory_store import MemoryStore
from storage.tinydb_store import TinyDBStore

ROOT = Path(__file__).resolve().parents[2]


async def test_healthz_reports_the_enabled_policies(aiohttp_client, tmp_path, all_policies):
    app = build_app(TinyDBStore(tmp_path), {"medway": all_policies["medway"]}, run_scheduler=False)
    client = await aiohttp_client(app)
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "policies": ["medway"]}


async def test_oversized_bodies_are_refused(aiohttp_client, tmp_path, all_policies):
    app = build_app(TinyDBStore(tmp_path), all_policies, run_scheduler=False)
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app.router.add_post("/echo", echo)
    client = await aiohttp_client(app)
    response = await client.post("/echo", data=b"x" * (2 * 1024 * 1024))
    assert response.status == 413


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_prints_its_channels_and_answers_healthz(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--data", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_PROXY": "127.0.0.1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "procedures:" in line:
                break
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text
        assert "Slack:" in text and "Teams:" in text and "console:" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            body = json.loads(response.read())
        assert body == {"status": "ok", "policies": sorted(load_policies(POLICY_DIR))}  # every file in policies/
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Recorder:
    """The console channel's sender: keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[tuple[ThreadRef, Reply]] = []

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "") -> ThreadRef:
        self.sent.append((thread, reply))
        return thread


class EventsFailStore(MemoryStore):
    """Reading the dedupe records fails (as a damaged disk would), with a key in the error's message."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_events = True
        self.event_scans = 0

    async def scan(self, collection: str):
        if collection == "events":
            self.event_scans += 1
            if self.fail_events:
                raise StoreError("cannot read events/slack-event:Ev0SECRET: Input/output error")
        return await super().scan(collection)


async def test_nudges_still_go_out_when_the_dedupe_sweep_fails(all_policies, clock, caplog):
    async with EventsFailStore() as store:
        recorder = Recorder()
        engine = core_for(store, {"surrey": all_policies["surrey"]}, clock, directory=demo_directory(["surrey"]))
        engine.outbox.register(ChannelInfo("console", roots=False), recorder)
        opened = await Chat(engine, "practitioner@example.org").escalate(
            other_agency="Northshire Police", other_professional="Chris Walker", other_role="Detective Constable")
        assert opened.kind == "case_opened"
        clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=LONDON))  # Stage 1's "due tomorrow" nudge is due
        old = (clock.now() - timedelta(days=30)).isoformat()
        await store.put("events", "slack-event:old", {"at": old})
        with caplog.at_level(logging.INFO):
            task = asyncio.create_task(scheduler_loop(engine, 0))
            try:
                for _ in range(500):  # the loop's passes: each sleeps 0 s, so this gives it many turns
                    await asyncio.sleep(0.01)
                    if recorder.sent and store.event_scans:
                        break
                assert not task.done()  # the failed sweep did not end the loop
                # Next London day: the sweep works again; nudges keep going too.
                store.fail_events = False
                clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=LONDON))
                for _ in range(500):
                    await asyncio.sleep(0.01)
                    if len(recorder.sent) >= 2 and await store.get("events", "slack-event:old") is None:
                        break
                assert not task.done()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        kinds = [(reply.kind, reply.case_ref) for _, reply in recorder.sent]
        assert kinds[:2] == [("nudge", opened.case_ref), ("nudge", opened.case_ref)]
        assert await store.get("events", "slack-event:old") is None
        assert store.event_scans == 2  # once on each London day, however many passes ran
        failures = [r for r in caplog.records if "dedupe" in r.getMessage() and r.levelno >= logging.WARNING]
        assert [r.getMessage() for r in failures] == [
            "expiry of dedupe records failed (StoreError); it runs again tomorrow"]
        assert "Ev0SECRET" not in caplog.text
        assert not any("scheduler pass failed" in r.getMessage() for r in caplog.records)


class DueFails(MemoryStore):
    """Reading which messages are due fails (as a damaged disk would), naming a case as a real error might; counts
    the tries."""

    def __init__(self) -> None:
        super().__init__()
        self.tries = 0
        self.failing = True

    async def scan(self, collection: str):
        if collection == "outbox_due" and self.failing:
            self.tries += 1
            raise OSError("disk error reading outbox_due/root:ESC-2026-0001")
        return await super().scan(collection)


async def test_a_failing_delivery_pass_never_stops_nudges_being_queued_and_is_tried_again(all_policies, clock, caplog):
    async with DueFails() as store:
        recorder = Recorder()
        engine = core_for(store, {"surrey": all_policies["surrey"]}, clock, directory=demo_directory(["surrey"]))
        engine.outbox.register(ChannelInfo("console", roots=False), recorder)
        opened = await Chat(engine, "practitioner@example.org").escalate(
            other_agency="Northshire Police", other_professional="Chris Walker", other_role="Detective Constable")
        clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=LONDON))
        task = asyncio.create_task(scheduler_loop(engine, 0))
        try:
            for _ in range(500):
                await asyncio.sleep(0.01)
                if store.tries >= 3:
                    break
            queued = await store.get("outbox", f"nudge:{opened.case_ref}:1:before:2026-11-24")
            assert queued is not None and recorder.sent == []  # queued, not yet delivered
            store.failing = False  # the disk is mended: the next pass delivers it
            for _ in range(500):
                await asyncio.sleep(0.01)
                if recorder.sent:
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The pass's delivery step failed each time, was logged by its kind only, never stopped the loop (the nudge
        # was still queued), and was tried again at every pass.
        assert [(r.kind, r.case_ref) for _, r in recorder.sent] == [("nudge", opened.case_ref)]
        assert store.tries >= 3
        assert "delivering queued messages failed (OSError); tried again at the next pass" in caplog.text
        assert "ESC-2026-0001" not in caplog.text
        assert "scheduler pass failed" not in caplog.text


async def test_a_started_server_prepares_the_summary_chart_off_its_event_loop(aiohttp_client, tmp_path, all_policies,
                                                                              monkeypatch) -> None:
    """The chart's one-off preparation (fonts, first draw: as long again as a summary) is paid at start, in a worker
    thread, not by the first lead who asks; the server answers meanwhile."""
    import threading

    from bot.summary import chart

    ran: list[str] = []
    monkeypatch.setattr(chart, "warm_up", lambda: ran.append(threading.current_thread().name) or 0.0)
    client = await aiohttp_client(build_app(TinyDBStore(tmp_path), all_policies, run_scheduler=False))
    assert (await client.get("/healthz")).status == 200
    for _ in range(50):
        if ran:
            break
        await asyncio.sleep(0.02)
    assert len(ran) == 1 and ran[0] != threading.main_thread().name
    assert chart.summary_png({"week": "2026-W49", "open_by_procedure_stage": [], "history": []})[:4] == b"\x89PNG"

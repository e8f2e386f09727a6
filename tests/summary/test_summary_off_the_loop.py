"""A summary's figures and chart are made off the event loop: while a lead's summary is being drawn, everyone else's
requests are still answered (at 100,000 cases it takes a second; Slack wants its answer within three)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))

from scenario_kit import JORDAN, SAM, World

from bot.summary import report


async def test_other_requests_are_answered_while_a_summary_is_drawn(store, all_policies, clock, monkeypatch):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    drawing, drawn_in = threading.Event(), []
    real = report.compose

    def slow_compose(*args, **kwargs):
        drawn_in.append(threading.current_thread() is threading.main_thread())
        drawing.set()
        time.sleep(0.8)  # (a big summary)
        return real(*args, **kwargs)

    monkeypatch.setattr("bot.conversation.engine.compose", slow_compose)
    summary = asyncio.create_task(world.person(SAM).say("summary"))
    while not drawing.is_set():
        await asyncio.sleep(0.01)
    began = time.monotonic()
    (status,) = await world.person(JORDAN).say(f"status {ref}")
    assert ref in status.text and time.monotonic() - began < 0.5  # not queued behind the drawing
    (answer,) = await summary
    assert answer.kind == "summary" and drawn_in == [False]  # drawn in a worker thread

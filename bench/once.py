"""What "once is once, across restarts" costs a request, on the TinyDB store (atomic writes, fsync).

Three mechanisms, each timed where it runs:
- a command with effects (here `contact REF ...`, which records a contact on the case) is remembered by its event
  id, durably (one read before it, one write after): the same command with and without an event id, alternately;
- every Teams activity is marked once in the channel's own markers (one create) before its turn runs;
- every Slack request's signature (and event id) is kept for ten minutes in memory, as a 16-byte digest.

A form (Stage 1, an action) is stored before the platform is answered: that store is the form's own durability, not
a dedupe cost, and is not counted here. The target: remembering an effectful command adds no more than one write's
worth (TARGET_RATIO) to it.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROUNDS = 200
WARMUP = 10
TARGET_RATIO = 2.0  # an effectful command with its dedupe record, over the same without


async def _measure(data: Path, rounds: int) -> dict[str, list[float]]:
    from adapters.slack.gate import Seen
    from bot.app import build_core
    from bot.dates.clock import SystemClock
    from bot.people.directory_csv import demo_directory
    from bot.types import Event, ThreadRef, UserRef
    from policies.loader import load_policies
    from storage import TinyDBStore

    times: dict[str, list[float]] = {"with": [], "without": [], "marker": [], "seen": []}
    async with TinyDBStore(data) as store:
        core = build_core(store, load_policies(ids=("surrey",)), SystemClock(),
                          directory=demo_directory(["surrey"]))
        jordan = UserRef("console", "practitioner@example.org")
        here = ThreadRef("console", "practitioner@example.org")
        answers = {"arose_on": "today", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
                   "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed",
                   "impact": "Risk continues", "desired_change": "Strategy discussion",
                   "discussed_line_manager": "yes", "discussed_other": "yes", "child_status": "none",
                   "child_name": "Tallulah Quenby-Marsh", "child_dob": "2015-02-03"}
        taken = await core.door.submit(Event.submitted(jordan, here, answers, {"step": "intake", "policy": "surrey"},
                                                       event_id="bench-case", reply_to=here))
        (opened,) = [r for r in await core.door.process(taken.ticket) if r.case_ref]
        state = core.door.state("teams")
        seen = Seen()
        for i in range(WARMUP + rounds):
            for kind in ("with", "without"):
                event = Event(jordan, here, text=f"contact {opened.case_ref} Chris Walker, DC",
                              event_id=f"bench-{i}" if kind == "with" else "")
                start = time.perf_counter()
                await core.door.handle(event)
                if i >= WARMUP:
                    times[kind].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            await state.first(f"conversation:{i}")
            if i >= WARMUP:
                times["marker"].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            seen.add_all([f"sig:v0={i:064x}", f"event:Ev{i}"], time.time())
            if i >= WARMUP:
                times["seen"].append((time.perf_counter() - start) * 1000)
        await core.work.settle()
    return times


def run(rounds: int = ROUNDS, directory: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-once-", dir=directory) as tmp:
        times = asyncio.run(_measure(Path(tmp) / "data", rounds))
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    ratio = medians["with"] / medians["without"]
    return {"rounds": rounds, "medians_ms": medians, "ratio": ratio, "target_ratio": TARGET_RATIO,
            "ok": ratio <= TARGET_RATIO}


def report(result: dict[str, Any]) -> str:
    m = result["medians_ms"]
    verdict = "OK" if result["ok"] else "MISSED"
    return "\n".join([
        f"Durable once-only handling, TinyDB store (fsync), {result['rounds']} rounds, medians:",
        f"  an effectful command (contact REF ...) with its dedupe record   {m['with']:8.2f} ms",
        f"  the same command without one                                   {m['without']:8.2f} ms",
        f"  -> remembering it costs {m['with'] - m['without']:.2f} ms a command with effects "
        f"(ratio {result['ratio']:.2f}, target <= {result['target_ratio']:g}): {verdict}",
        f"  a Teams activity's marker (one create, before its turn)        {m['marker']:8.2f} ms",
        f"  a Slack request's replay check (in memory)                      {m['seen'] * 1000:8.1f} µs",
        "  (a command without effects, /escalate's form or a status, reads and writes nothing for it)",
    ])

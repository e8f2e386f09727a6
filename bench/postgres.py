"""The PostgreSQL store at national scale: a case write at 1,000 and at 100,000 stored cases (the ratio must stay
near 1), and the weekly summary over 100,000 cases (under 1 s and 300 MB of memory, in a process of its own so its
peak memory is its own).

The cases are real ones (opened through the core, then copied with new references, and sealed as deployed: each under
its own data key, in the schema `<schema>_keys`): most closed years ago, a few hundred open or closed in the last
weeks, a few closed long ago still owing a duty. The summary and the audit export read them through the sealed store.
Runs where a PostgreSQL answers (BOT_BENCH_DATABASE_URL, else 127.0.0.1:5432 user postgres database test); else it
says so and is skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

SIZES = (1_000, 100_000)
WRITES = 200
WRITE_RATIO = 1.2
SUMMARY_SECONDS = 1.0
SUMMARY_MB = 300
ROOT = Path(__file__).resolve().parents[1]
URL = os.environ.get("BOT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
MONDAY = date(2026, 11, 23)
UPGRADED = ("trails-chained", "sealed-once", "duties-counted")  # META records of one-off upgrades
MASTER_KEY = "YmVuY2gtb25seS1tYXN0ZXIta2V5LW5vdC1zZWNyZXQ"  # (the benchmark's own: never a deployment's)


async def _template() -> dict[str, Any]:
    """One real case, opened through the core."""
    from bot.app import build_core
    from bot.dates.clock import FixedClock
    from bot.dates.workdays import LONDON
    from bot.people.directory_csv import demo_directory
    from bot.types import Event, ThreadRef, UserRef
    from policies.loader import load_policies
    from storage import MemoryStore

    answers = {"arose_on": "2026-11-23", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
               "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed",
               "impact": "Risk continues", "desired_change": "Strategy discussion",
               "discussed_line_manager": "yes", "discussed_other": "yes", "child_status": "none",
               "child_name": "Tallulah Quenby-Marsh", "child_dob": "2015-02-03"}
    async with MemoryStore() as store:
        core = build_core(store, load_policies(ids=("surrey",)), FixedClock(datetime(2026, 11, 23, 10,
                                                                                        tzinfo=LONDON)),
                          directory=demo_directory(["surrey"]))
        me = ThreadRef("console", "practitioner@example.org")
        user = UserRef("console", "practitioner@example.org", email="practitioner@example.org")
        taken = await core.door.submit(Event.submitted(user, me, answers, {"step": "intake", "policy": "surrey"},
                                                       event_id="bench", reply_to=me))
        (ref,) = [r.case_ref for r in await core.door.process(taken.ticket) if r.case_ref]
        case = await store.get("cases", ref)
    assert case is not None
    return case


def _case(template: dict[str, Any], i: int, rng: random.Random) -> dict[str, Any]:
    case = json.loads(json.dumps(template))
    case["ref"] = f"ESC-{2019 + i % 8}-{i:06d}"
    roll = rng.random()
    if roll < 0.004:  # open now
        return case
    if roll < 0.008:  # closed in the last weeks
        closed = MONDAY - timedelta(days=rng.randrange(1, 50))
    else:  # closed years ago
        closed = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365))
    case["status"], case["closed_at"], case["stage"] = "resolved", f"{closed.isoformat()}T10:00:00+00:00", None
    owing = roll > 0.999  # a few closed long ago and still owing a duty
    case["duties"] = [{**d, "status": "open" if owing else "done"} for d in case.get("duties", [])]
    case["open_duties"] = sum(1 for d in case["duties"] if d["status"] == "open")
    return case


async def _fill(store: Any, template: dict[str, Any], first: int, end: int) -> None:
    """Bulk load (COPY) cases [first, end) as the deployed store holds them: sealed, each under its own data key,
    the data keys wrapped under the benchmark's master key in the schema `<schema>_keys`."""
    import secrets

    from storage.common import index_fields
    from storage.keys import KEY_BYTES, Keyring
    from storage.postgres_store import PostgresStore, _body
    from storage.sealed import SealedStore, _seal_with, case_scope

    keyring = Keyring.from_text(MASTER_KEY, "bench")
    keys = PostgresStore(store.url, schema=f"{store.schema}_keys")
    async with keys:
        await SealedStore(store, keys, keyring)._note_master_key()
        rng = random.Random(first)
        async with store._connection() as conn, keys._connection() as key_conn:
            async with conn.cursor() as cursor, cursor.copy("COPY docs (collection, key, body, fields) FROM STDIN"
                                                            ) as copy, key_conn.cursor() as key_cursor, \
                    key_cursor.copy("COPY docs (collection, key, body, fields) FROM STDIN") as key_copy:
                for i in range(first, end):
                    case = _case(template, i, rng)
                    scope, data_key = case_scope(case["ref"]), secrets.token_bytes(KEY_BYTES)
                    wrapped = {**keyring.wrap(data_key, scope), "made_at": "2026-01-01T00:00:00+00:00"}
                    await key_copy.write_row(("data_keys", scope, _body(wrapped), json.dumps(index_fields(wrapped))))
                    sealed = _seal_with("cases", case["ref"], case, scope, data_key)
                    await copy.write_row(("cases", case["ref"], _body(sealed), json.dumps(index_fields(sealed))))
            await conn.execute("ANALYZE docs")
            await key_conn.execute("ANALYZE docs")
    await _as_upgraded(store)


def deployed(url: str, schema: str) -> Any:
    """The store as a replica opens it (sealed), under the benchmark's master key."""
    from storage.keys import Keyring
    from storage.postgres_store import PostgresStore
    from storage.sealed import SealedStore

    return SealedStore(PostgresStore(url, schema=schema), PostgresStore(url, schema=f"{schema}_keys"),
                       Keyring.from_text(MASTER_KEY, "bench"))


async def _as_upgraded(store: Any) -> None:
    """Mark the one-off upgrades as done (cases from before sealing and chains, as a store upgraded long ago would
    be): else a replica's first pass would rewrite all of them while the benchmark measures."""
    for done in UPGRADED:
        await store.put("meta", done, {"done": True})


async def _writes(store: Any, stored: int, rng: random.Random) -> list[float]:
    times = []
    for j in range(WRITES + 10):
        i = rng.randrange(stored)
        ref = f"ESC-{2019 + i % 8}-{i:06d}"
        start = time.perf_counter()
        await store.update("cases", ref, lambda c, j=j: {**(c or {}), "touched": j})
        if j >= 10:
            times.append((time.perf_counter() - start) * 1000)
    return times


SUMMARY_PROBE = """
import asyncio, json, resource, sys, time
from datetime import date
from bot.cases.book import CaseBook
from bot.summary.figures import summary_window
from bot.summary.report import compose
from policies.loader import load_policies
from bench.postgres import deployed

from bot.summary.chart import warm_up

async def main():
    cold = warm_up()  # (what `serve` does once at start, off its event loop: not part of a lead's wait)
    async with deployed(sys.argv[1], sys.argv[2]) as store:
        start = time.perf_counter()
        monday = date.fromisoformat(sys.argv[3])
        cases = await CaseBook(store).for_summary(summary_window(monday))
        read = time.perf_counter() - start
        _, figs = compose(cases, load_policies(), monday)
        took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": took, "query_seconds": read, "warm_up_seconds": cold, "peak_mb": peak,
                      "read": len(cases), "open": figs["open_at_end"]}))

asyncio.run(main())
"""


AUDIT_PROBE = """
import asyncio, json, resource, sys, time
from bench.postgres import deployed
from bot.records.audit import csv_lines, sorted_trail

async def main():
    async with deployed(sys.argv[1], sys.argv[2]) as store:
        start = time.perf_counter()
        written = 0
        async with sorted_trail(store) as trail:
            for line in csv_lines(trail.rows()):
                written += len(line)
        took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": took, "peak_mb": peak, "rows": trail.count, "bytes": written}))

asyncio.run(main())
"""


def run(sizes: tuple[int, ...] = SIZES, url: str = URL) -> dict[str, Any]:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            pass
    except Exception as exc:
        return {"skipped": f"no PostgreSQL at {url} ({type(exc).__name__})", "ok": True}
    return asyncio.run(_run(sizes, url))


async def _run(sizes: tuple[int, ...], url: str) -> dict[str, Any]:
    from storage.postgres_store import PostgresStore

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    template = await _template()
    result: dict[str, Any] = {"sizes": {}}
    rng = random.Random(7)
    async with PostgresStore(url, schema=schema) as store:
        try:
            loaded = 0
            for size in sizes:
                await _fill(store, template, loaded, size)
                loaded = size
                result["sizes"][size] = statistics.median(await _writes(store, size, rng))
            probe = await asyncio.to_thread(  # (the summary in a process of its own: its peak memory its own)
                subprocess.run, [sys.executable, "-c", SUMMARY_PROBE, url, schema, MONDAY.isoformat()], cwd=ROOT,
                capture_output=True, text=True, timeout=300, check=True)
            result["summary"] = json.loads(probe.stdout.strip().splitlines()[-1])
            audit = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-c", AUDIT_PROBE, url, schema], cwd=ROOT, capture_output=True,
                text=True, timeout=600, check=True)
            result["audit"] = json.loads(audit.stdout.strip().splitlines()[-1])
        finally:
            await store.drop()
            async with PostgresStore(url, schema=f"{schema}_keys") as keys:
                await keys.drop()
    small, large = result["sizes"][sizes[0]], result["sizes"][sizes[-1]]
    result["ratio"] = large / small
    summary = result["summary"]
    result["ok"] = (result["ratio"] <= WRITE_RATIO and summary["seconds"] < SUMMARY_SECONDS
                    and summary["peak_mb"] < SUMMARY_MB)
    return result


def report(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"PostgreSQL benchmark skipped: {result['skipped']}"
    sizes = sorted(result["sizes"])
    summary = result["summary"]
    verdict = "OK" if result["ok"] else "MISSED"
    lines = [f"PostgreSQL store: a case update (median of {WRITES}) by cases stored"]
    lines += [f"  {size:>9,} cases  {result['sizes'][size]:6.2f} ms" for size in sizes]
    lines += [
        f"  ratio {sizes[-1]:,} / {sizes[0]:,}: {result['ratio']:.2f} (target <= {WRITE_RATIO:g})",
        f"  weekly summary over {sizes[-1]:,} cases: {summary['seconds']:.2f} s, peak {summary['peak_mb']:.0f} MB "
        f"(read {summary['read']:,} cases in {summary['query_seconds']:.2f} s; targets < {SUMMARY_SECONDS:g} s, "
        f"< {SUMMARY_MB} MB; the chart's one-off preparation, done by `serve` at start: "
        f"{summary['warm_up_seconds']:.2f} s): {verdict}",
        f"  audit export (CSV) over {sizes[-1]:,} cases: {result['audit']['rows']:,} rows in "
        f"{result['audit']['seconds']:.1f} s, peak {result['audit']['peak_mb']:.0f} MB (sorted outside memory)",
    ]
    return "\n".join(lines)

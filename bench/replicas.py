"""Replicas on PostgreSQL at national scale: `/escalate` throughput through two replicas against one, and the slowest
Slack ack while safeguarding leads ask for the weekly summary over 100,000 cases (each summary is drawn by the
replica that got the command, off its event loop).

Servers on 127.0.0.1, each in its own process: the fake Slack Web API of bench/slack.py and the real bot app
(`bot.app.build_app`, Slack mounted) over one PostgreSQL schema holding 100,000 real cases (bench/postgres.py fills
it). Runs where a PostgreSQL answers (BOT_BENCH_DATABASE_URL, else 127.0.0.1:5432); else it says so and is skipped.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench import postgres
from bench.slack import CHANNEL, SECRET, TOKEN, _base_fields, _round, _signed

REQUESTS = 600
BUSY_REQUESTS = 3_000
CONCURRENCY = 20
CASES = 100_000
SUMMARIES = 6
ACK_SECONDS = 1.0
ROOT = Path(__file__).resolve().parents[1]
MASTER_KEY = postgres.MASTER_KEY  # (the benchmark's own: every replica holds it)
LEAD = "U0DEMO0003"  # Maria Lopez, a safeguarding lead in the demo directory


def _replica_app(api_url: str, url: str, schema: str) -> web.Application:
    """The bot over PostgreSQL (`url`, `schema`), or, with no `url`, over the TinyDB data folder `schema` names."""
    import tempfile

    from bot.app import build_app
    from bot.config import deployment_store, read_settings
    from policies.loader import load_policies

    settings = read_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
                              "SLACK_CASES_CHANNEL": CHANNEL, "BOT_DATABASE_URL": url, "BOT_MASTER_KEY": MASTER_KEY,
                              **({"BOT_DATABASE_SCHEMA": schema} if url else {})})
    data = Path(tempfile.gettempdir()) / f"{schema}-unused" if url else Path(schema)  # (never the working folder)
    return build_app(deployment_store(settings, data), load_policies(), settings, run_scheduler=False)


def _serve(kind: str, api_url: str, url: str, schema: str, ports: Any) -> None:
    from bench.slack import _serve as serve_fake

    if kind == "fake":
        serve_fake("fake", "", ports)
        return

    async def main() -> None:
        runner = web.AppRunner(_replica_app(api_url, url, schema), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.put((kind, runner.addresses[0][1]))
        await asyncio.Event().wait()

    asyncio.run(main())


async def _spread(session: aiohttp.ClientSession, urls: list[str], count: int, tag: str) -> dict[str, Any]:
    """`count` signed /escalate requests spread over `urls` (as a load balancer would), CONCURRENCY at a time."""
    fields = _base_fields()
    shares = [_round(session, u, [_signed(fields, i, f"{tag}-{n}") for i in range(count // len(urls))],
                     max(1, CONCURRENCY // len(urls))) for n, u in enumerate(urls)]
    start = time.perf_counter()
    rounds = await asyncio.gather(*shares)
    elapsed = time.perf_counter() - start
    latencies = [ms for r in rounds for ms in r["latencies"]]
    return {"rps": len(latencies) / elapsed, "max_ms": max(latencies), "p99_ms": statistics.quantiles(latencies,
                                                                                                         n=100)[98]}


async def _summaries(session: aiohttp.ClientSession, urls: list[str], stop: asyncio.Event) -> int:
    """Leads asking for the summary (a slash command each) until `stop`: how many were asked."""
    asked = 0
    fields = {**_base_fields(), "user_id": LEAD, "text": "summary"}
    while not stop.is_set():
        body, headers = _signed(fields, asked, "summary")
        async with session.post(urls[asked % len(urls)], data=body, headers=headers) as response:
            await response.read()
        asked += 1
        await asyncio.sleep(0.3)
    return asked


async def _during_audit(session: aiohttp.ClientSession, urls: list[str], audit: dict[str, str]) -> dict[str, Any]:
    """Signed /escalate requests, round after round, for as long as an operator's `python -m bot audit --format csv`
    runs over the same store in a process of its own (`audit`: its environment); the acks and the audit's time."""
    env = {**os.environ, **audit, "BOT_MASTER_KEY": MASTER_KEY}
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "audit", "--format", "csv", cwd=ROOT,
                                                env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    rounds: list[dict[str, Any]] = []
    while proc.returncode is None:
        rounds.append(await _spread(session, urls, 300, f"audit{len(rounds)}"))
        await asyncio.sleep(0)
    _, errors = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the audit export failed: {errors.decode()[-300:]}")
    return {"max_ms": max(r["max_ms"] for r in rounds), "p99_ms": max(r["p99_ms"] for r in rounds),
            "requests": 300 * len(rounds), "audit_seconds": time.perf_counter() - start}


async def _load(urls: list[str], fake: str, audit: dict[str, str]) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2)) as session:
        await _spread(session, urls, 100, "warm")
        one = await _spread(session, urls[:1], REQUESTS, "one")
        two = await _spread(session, urls, REQUESTS, "two") if len(urls) > 1 else one
        stop = asyncio.Event()
        leads = asyncio.create_task(_summaries(session, urls, stop))
        busy = await _spread(session, urls, BUSY_REQUESTS, "busy")
        stop.set()
        asked = await leads
        await asyncio.sleep(3)  # (the last summaries finish)
        during_audit = await _during_audit(session, urls, audit)
        async with session.get(fake + "/stats") as response:
            posted = (await response.json()).get("files.completeUploadExternal", 0)
    return {"one": one, "two": two, "busy": busy, "summaries": asked, "posted": posted, "audit": during_audit}


def run(cases: int = CASES, url: str = postgres.URL) -> dict[str, Any]:
    """Both stores: replicas on PostgreSQL (where one answers), and one process on the embedded store."""
    result = run_postgres(cases, url)
    result["embedded"] = run_embedded(cases)
    result["ok"] = bool(result.get("ok", True)) and result["embedded"]["ok"]
    return result


def run_postgres(cases: int = CASES, url: str = postgres.URL) -> dict[str, Any]:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            pass
    except Exception as exc:
        return {"skipped": f"no PostgreSQL at {url} ({type(exc).__name__})", "ok": True}
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_fill(url, schema, cases))
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    procs = []
    try:
        fake = ctx.Process(target=_serve, args=("fake", "", url, schema, ports), daemon=True)
        fake.start()
        procs.append(fake)
        _, fake_port = ports.get(timeout=60)
        api_url = f"http://127.0.0.1:{fake_port}/api/"
        urls = []
        for name in ("a", "b"):
            proc = ctx.Process(target=_serve, args=(name, api_url, url, schema, ports), daemon=True)
            proc.start()
            procs.append(proc)
            _, port = ports.get(timeout=120)
            urls.append(f"http://127.0.0.1:{port}/slack/events")
        measured = asyncio.run(_load(urls, f"http://127.0.0.1:{fake_port}",
                                     {"BOT_DATABASE_URL": url, "BOT_DATABASE_SCHEMA": schema}))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
        asyncio.run(_drop(url, schema))
    measured["cases"] = cases
    measured["ratio"] = measured["two"]["rps"] / measured["one"]["rps"]
    measured["ok"] = max(measured["busy"]["max_ms"], measured["audit"]["max_ms"]) < ACK_SECONDS * 1000
    return measured


def run_embedded(cases: int = CASES) -> dict[str, Any]:
    """The same busy test on the embedded store (one process owns a TinyDB folder): the slowest ack while leads
    ask for summaries over `cases` cases (a summary there reads every case, off the event loop)."""
    import random
    import tempfile

    from storage.bulk import bulk_load_unsynced

    template = asyncio.run(postgres._template())
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as folder:
        data = Path(folder) / "data"
        bulk_load_unsynced(data, "cases", ((c["ref"], c) for c in (postgres._case(template, i, rng)
                                                                    for i in range(cases))))
        bulk_load_unsynced(data, "meta", ((done, {"done": True}) for done in postgres.UPGRADED))
        ctx = multiprocessing.get_context("spawn")
        ports = ctx.Queue()
        procs = []
        try:
            fake = ctx.Process(target=_serve, args=("fake", "", "", str(data), ports), daemon=True)
            fake.start()
            procs.append(fake)
            _, fake_port = ports.get(timeout=60)
            proc = ctx.Process(target=_serve, args=("a", f"http://127.0.0.1:{fake_port}/api/", "", str(data), ports),
                               daemon=True)
            proc.start()
            procs.append(proc)
            _, port = ports.get(timeout=300)
            measured = asyncio.run(_load([f"http://127.0.0.1:{port}/slack/events"], f"http://127.0.0.1:{fake_port}",
                                         {"BOT_DATA_DIR": str(data), "BOT_DATABASE_URL": ""}))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.join(timeout=10)
    return {"cases": cases, **measured,
            "ok": max(measured["busy"]["max_ms"], measured["audit"]["max_ms"]) < ACK_SECONDS * 1000}


async def _fill(url: str, schema: str, cases: int) -> None:
    from storage.postgres_store import PostgresStore

    template = await postgres._template()
    async with PostgresStore(url, schema=schema) as store:
        await postgres._fill(store, template, 0, cases)


async def _drop(url: str, schema: str) -> None:
    from storage.postgres_store import PostgresStore

    for name in (schema, f"{schema}_keys"):
        async with PostgresStore(url, schema=name) as store:
            await store.drop()


def report(result: dict[str, Any]) -> str:
    embedded = result.get("embedded")
    tail = []
    if embedded:
        verdict = "OK" if embedded["ok"] else "MISSED"
        tail = [f"Embedded store (TinyDB, one process), {embedded['cases']:,} cases: {BUSY_REQUESTS} requests while "
                f"leads ask for {embedded['summaries']} summaries ({embedded['posted']} charts posted): p99 "
                f"{embedded['busy']['p99_ms']:6.1f} ms, slowest ack {embedded['busy']['max_ms']:6.1f} ms "
                f"(target < {ACK_SECONDS * 1000:.0f} ms)", _audit_line(embedded) + f": {verdict}"]
    if "skipped" in result:
        return "\n".join([f"Replicas benchmark skipped: {result['skipped']}", *tail])
    one, two, busy = result["one"], result["two"], result["busy"]
    verdict = "OK" if result["ok"] else "MISSED"
    return "\n".join([
        f"Replicas on PostgreSQL ({result['cases']:,} cases), signed /escalate, {REQUESTS} requests each:",
        f"  one replica        {one['rps']:7.0f} req/s   p99 {one['p99_ms']:6.1f} ms   max {one['max_ms']:6.1f} ms",
        f"  two replicas       {two['rps']:7.0f} req/s   p99 {two['p99_ms']:6.1f} ms   max {two['max_ms']:6.1f} ms"
        f"   (x{result['ratio']:.2f}; both share this machine's cores with the load and the fake Slack)",
        f"  two, {BUSY_REQUESTS} requests while leads ask for {result['summaries']} summaries "
        f"({result['posted']} charts posted): p99 {busy['p99_ms']:6.1f} ms, slowest ack "
        f"{busy['max_ms']:6.1f} ms (target < {ACK_SECONDS * 1000:.0f} ms)",
        _audit_line(result) + f": {verdict}",
        *tail,
    ])



def _audit_line(result: dict[str, Any]) -> str:
    audit = result["audit"]
    return (f"  {audit['requests']} requests while an audit export (CSV, every case) ran for "
            f"{audit['audit_seconds']:.1f} s: p99 {audit['p99_ms']:6.1f} ms, slowest ack {audit['max_ms']:6.1f} ms "
            f"(target < {ACK_SECONDS * 1000:.0f} ms)")

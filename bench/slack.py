"""Ack latency and throughput of signed `/escalate` requests: the bot's Slack route against a bare slack-bolt app.

Three servers on 127.0.0.1, each in its own process: a fake Slack Web API (answers auth.test and views.open, like
Slack would, from outside the bot), the real bot app (`bot.app.build_app` with Slack mounted, a MemoryStore, the
surrey procedure) and a bare `AsyncApp` whose `/escalate` listener only does `await ack()`, served the same way
(aiohttp route -> to_bolt_request -> async_dispatch -> to_aiohttp_response). This process fires CONCURRENCY
concurrent requests, REQUESTS per round, ROUNDS rounds at each in turn. Every request carries a distinct trigger_id
(so a distinct signature: the bot's replay protection would otherwise acknowledge repeats without work).

Ours does more for each request than the bare app: its own size/signature/replay checks before bolt, the engine,
and the views.open call to the fake Slack straight after the ack (in the same process, so it competes for CPU).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import multiprocessing
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

CONCURRENCY = 50
REQUESTS = 1_000
ROUNDS = 3
WARMUP = 200
TARGET_RATIO = 0.8
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "slack" / "slash_command.form-urlencoded.txt"
FALLBACK = ("token=verification_token&team_id=T111&team_domain=test-domain&channel_id=C111&channel_name=random"
            "&user_id=W111&user_name=primary-owner&command=%2Fhello-world&text=Hi&enterprise_id=E111"
            "&enterprise_name=Org+Name&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT111%2F111%2Fxxxxx"
            "&trigger_id=111.111.xxx")


# --- the servers (each runs in a child process) ------------------------------------------------------------------
def _fake_slack_app() -> web.Application:
    counts: dict[str, int] = {}

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        await request.read()
        counts[method] = counts.get(method, 0) + 1
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "bot",
                                      "team_id": "T111", "user_id": "UBOT", "bot_id": "BBOT"})
        if method == "views.open":
            return web.json_response({"ok": True, "view": {"id": "VFAKE"}})
        return web.json_response({"ok": True})

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(counts)

    app = web.Application()
    app.router.add_post("/api/{method}", api)
    app.router.add_get("/stats", stats)
    return app


def _ours_app(api_url: str) -> web.Application:
    from bot.app import build_app
    from bot.config import read_settings
    from policies.loader import load_policies
    from storage.memory_store import MemoryStore

    settings = read_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
                              "SLACK_CASES_CHANNEL": "C0CASES01", "BOT_POLICY": "surrey"})
    return build_app(MemoryStore(), load_policies(ids=("surrey",)), settings, run_scheduler=False)


def _bare_app(api_url: str, *, route: bool = False, open_modal: bool = False,
              shared_session: bool = False) -> web.Application:
    """The bare bolt app; for the breakdown, optionally behind our route's checks, or opening a modal after ack."""
    import logging

    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    quiet = logging.getLogger("bench.bare.bolt")
    quiet.setLevel(logging.WARNING)
    session = aiohttp.ClientSession() if shared_session else None  # (called with the event loop running)
    bolt = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url, logger=quiet, session=session),
                    signing_secret=SECRET, logger=quiet)

    @bolt.command("/escalate")
    async def escalate(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        if open_modal:
            await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    if route:
        from adapters.slack.route import slack_handler

        app.router.add_post("/slack/events", slack_handler(bolt, SECRET))
    else:
        app.router.add_post("/slack/events", handle)
    return app


MODAL = {"type": "modal", "callback_id": "bench", "title": {"type": "plain_text", "text": "Bench"},
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "bench"}}]}


def _serve(kind: str, api_url: str, ports: Any) -> None:
    """Child process: build one app, serve it on an ephemeral port, report the port, run until terminated."""
    make: dict[str, Callable[[], web.Application]] = {
        "fake": _fake_slack_app, "ours": lambda: _ours_app(api_url), "bare": lambda: _bare_app(api_url),
        "bare_route": lambda: _bare_app(api_url, route=True), "bare_open": lambda: _bare_app(api_url, open_modal=True),
        "bare_open_shared": lambda: _bare_app(api_url, open_modal=True, shared_session=True)}

    async def main() -> None:
        runner = web.AppRunner(make[kind](), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.put((kind, runner.addresses[0][1]))
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the load -------------------------------------------------------------------------------------------------
# kind -> (label, opens a modal per request). The first two are the comparison asked for; the rest break it down.
KINDS: dict[str, tuple[str, bool]] = {
    "ours": ("ours: route + bolt + engine + views.open", True),
    "bare": ("bare bolt AsyncApp, ack only", False),
    "bare_route": ("bare + our route's checks", False),
    "bare_open": ("bare + views.open after ack", True),
    "bare_open_shared": ("bare + views.open, shared session", True),
}


def _base_fields() -> dict[str, str]:
    text = FIXTURE.read_text().strip() if FIXTURE.is_file() else FALLBACK
    fields = dict(parse_qsl(text))
    fields.update(command="/escalate", text="", user_id="U0DEMO0001", user_name="jordan", channel_id="C0CASES01")
    return fields


def _signed(fields: dict[str, str], n: int, tag: str) -> tuple[bytes, dict[str, str]]:
    body = urlencode({**fields, "trigger_id": f"{tag}.{n}.{time.time_ns()}"})
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return body.encode(), {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                           "X-Slack-Signature": f"v0={digest}"}


async def _round(session: aiohttp.ClientSession, url: str, requests: list[tuple[bytes, dict[str, str]]],
                 concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(requests)

    async def worker() -> None:
        for body, headers in queue:
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {"latencies": latencies, "elapsed": elapsed, "statuses": statuses, "rps": len(requests) / elapsed}


async def _views_opened(session: aiohttp.ClientSession, fake: str) -> int:
    async with session.get(fake + "/stats") as response:
        return int((await response.json()).get("views.open", 0))


async def _load(urls: dict[str, str], kinds: list[str], requests: int, rounds: int,
                concurrency: int) -> dict[str, Any]:
    fields = _base_fields()
    out: dict[str, Any] = {kind: [] for kind in kinds}
    opened: dict[str, int] = dict.fromkeys(kinds, 0)
    expected = 0

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency * 2)) as session:

        async def one(kind: str, count: int, tag: str) -> dict[str, Any]:
            nonlocal expected
            before = await _views_opened(session, urls["fake"])
            result = await _round(session, urls[kind], [_signed(fields, i, tag) for i in range(count)], concurrency)
            if KINDS[kind][1]:
                expected = before + count
                # let the modal opens that follow the acks finish before anything else is measured
                deadline = time.perf_counter() + 20
                while time.perf_counter() < deadline:  # (the count lives in the fake's process)
                    if await _views_opened(session, urls["fake"]) >= expected:
                        break
                    await asyncio.sleep(0.05)
                opened[kind] += await _views_opened(session, urls["fake"]) - before
            return result

        for kind in kinds:  # warm up: connections, auth.test, first-use imports
            await one(kind, WARMUP, f"warm-{kind}")
        opened = dict.fromkeys(kinds, 0)
        for r in range(rounds):
            for kind in kinds:
                out[kind].append(await one(kind, requests, f"{kind}-{r}"))
    out["opened"] = opened
    return out


def _start(kind: str, api_url: str, ports: Any, ctx: Any) -> tuple[Any, int]:
    proc = ctx.Process(target=_serve, args=(kind, api_url, ports), daemon=True)
    proc.start()
    got, port = ports.get(timeout=60)
    assert got == kind
    return proc, port


def run(requests: int = REQUESTS, rounds: int = ROUNDS, concurrency: int = CONCURRENCY,
        kinds: tuple[str, ...] = tuple(KINDS)) -> dict[str, Any]:
    """Start the servers (child processes), load each in turn, stop them; latencies and throughput per app."""
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    procs = []
    try:
        fake, fake_port = _start("fake", "", ports, ctx)
        procs.append(fake)
        api_url = f"http://127.0.0.1:{fake_port}/api/"
        urls = {"fake": f"http://127.0.0.1:{fake_port}"}
        for kind in kinds:
            proc, port = _start(kind, api_url, ports, ctx)
            procs.append(proc)
            urls[kind] = f"http://127.0.0.1:{port}/slack/events"
        measured = asyncio.run(_load(urls, list(kinds), requests, rounds, concurrency))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=10)

    result: dict[str, Any] = {"requests": requests, "rounds": rounds, "concurrency": concurrency,
                              "cpus": multiprocessing.cpu_count(), "apps": {}}
    for kind in kinds:
        every = [ms for r in measured[kind] for ms in r["latencies"]]
        statuses: dict[str, int] = {}
        for r in measured[kind]:
            for code, count in r["statuses"].items():
                statuses[str(code)] = statuses.get(str(code), 0) + count
        result["apps"][kind] = {
            "label": KINDS[kind][0], "p50_ms": statistics.median(every),
            "p99_ms": statistics.quantiles(every, n=100)[98], "max_ms": max(every),
            "rps": statistics.median(r["rps"] for r in measured[kind]),
            "rps_rounds": [r["rps"] for r in measured[kind]], "statuses": statuses,
            "modals": measured["opened"][kind] if KINDS[kind][1] else None,
        }
    apps = result["apps"]
    result["ratio"] = apps["ours"]["rps"] / apps["bare"]["rps"]
    if "bare_open" in apps:
        result["ratio_like_for_like"] = apps["ours"]["rps"] / apps["bare_open"]["rps"]
    result["target_ratio"] = TARGET_RATIO
    answered = all(a["statuses"] == {"200": requests * rounds} for a in apps.values())
    modals = all(a["modals"] in (None, requests * rounds) for a in apps.values())
    result["all_answered"] = answered and modals
    result["ok"] = result["ratio"] >= TARGET_RATIO and answered and modals and apps["ours"]["p99_ms"] < 3000
    return result


def report(result: dict[str, Any]) -> str:
    """The result as a table."""
    lines = [
        f"Signed /escalate over HTTP on 127.0.0.1 ({result['cpus']} CPUs; fake Slack, each app and the load in "
        f"separate processes): {result['concurrency']} concurrent, {result['requests']:,} requests per round, "
        f"{result['rounds']} rounds per app, a fresh signature per request",
        f"{'app':<42}  {'ack p50 ms':>10}  {'ack p99 ms':>10}  {'max ms':>7}  {'req/s':>6}  {'rounds req/s':<16}"
        f"  answers / modals",
    ]
    for kind, row in result["apps"].items():
        rounds = "/".join(f"{x:.0f}" for x in row["rps_rounds"])
        answers = ", ".join(f"{n} x {code}" for code, n in row["statuses"].items())
        modals = "" if row["modals"] is None else f" / {row['modals']} modals"
        lines.append(f"{row['label']:<42}  {row['p50_ms']:>10.1f}  {row['p99_ms']:>10.1f}  {row['max_ms']:>7.1f}  "
                     f"{row['rps']:>6.0f}  {rounds:<16}  {answers}{modals}")
        if kind == "bare" and len(result["apps"]) > 2:
            lines.append("  breakdown (not part of the target):")
    verdict = "OK" if result["ok"] else "MISSED"
    lines.append(f"throughput ratio ours / bare (median req/s): {result['ratio']:.2f} "
                 f"(target >= {result['target_ratio']:g}; with every answer 200 and p99 ack < 3 s): {verdict}")
    if "ratio_like_for_like" in result:
        lines.append(f"like for like, ours / (bare + views.open after ack): {result['ratio_like_for_like']:.2f}")
    return "\n".join(lines)

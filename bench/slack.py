"""Ack latency and throughput of signed `/escalate` requests: the bot's Slack route against bare slack-bolt apps.

Servers on 127.0.0.1, each in its own process: a fake Slack Web API, the real bot app (`bot.app.build_app` with
Slack mounted, a MemoryStore, the surrey procedure), and bare `AsyncApp`s served the plain way (aiohttp route ->
to_bolt_request -> async_dispatch -> to_aiohttp_response). This process fires CONCURRENCY concurrent requests,
REQUESTS per round, ROUNDS rounds at each in turn. Every request carries a distinct trigger_id (so a distinct
signature: the bot's replay protection would otherwise acknowledge repeats without work).

The target compares like with like: ours against a bare bolt app that answers /escalate the way a user needs it
answered, an ack and then views.open of the same modal (with bolt's own Web API client, on one shared HTTP session,
its fastest setting). The ack-only bare app is reported beside it, with the ceiling any app that opens a modal can
reach against it (a bare app whose views.open is a raw aiohttp post): on two cores the outbound call alone costs
more than a fifth of the ack-only throughput, so that comparison measures Slack's API call, not our code.

The fake Slack stands for Slack's servers, which in production cost this machine nothing: it is an asyncio protocol
with canned answers (about 30 µs of CPU a call), not an aiohttp app, so that it takes as little as it can of the
cores the apps share with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
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
CHANNEL = "C0CASES01"


# --- the servers (each runs in a child process) ------------------------------------------------------------------
class _FakeSlackProtocol(asyncio.Protocol):
    """A fake Slack Web API at the cost of a few string operations per call (HTTP/1.1 keep-alive, Content-Length)."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                           if line[:15].lower() == "content-length:"), 0)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            verb, path = lines[0].split(" ")[:2]
            assert self.transport is not None
            self.transport.write(self.answer(verb, path.split("?", 1)[0].rsplit("/", 1)[-1]))

    def answer(self, verb: str, method: str) -> bytes:
        if verb == "GET" and method == "stats":
            body = json.dumps(self.counts).encode()
        elif method == "files.getUploadURLExternal":  # (a chart: uploaded back to this fake)
            self.counts[method] = self.counts.get(method, 0) + 1
            assert self.transport is not None
            port = self.transport.get_extra_info("sockname")[1]
            body = json.dumps({"ok": True, "upload_url": f"http://127.0.0.1:{port}/upload/F1",
                               "file_id": "F1"}).encode()
        else:
            self.counts[method] = self.counts.get(method, 0) + 1
            body = _ANSWERS.get(method, b'{"ok":true}')
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)


_ANSWERS = {
    "auth.test": json.dumps({"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "bot",
                             "team_id": "T111", "user_id": "UBOT", "bot_id": "BBOT"}).encode(),
    "views.open": b'{"ok":true,"view":{"id":"VFAKE"}}',
    "files.completeUploadExternal": b'{"ok":true,"files":[{"id":"F1"}]}',
}


def _ours_app(api_url: str) -> web.Application:
    from bot.app import build_app
    from bot.config import read_settings
    from policies.loader import load_policies
    from storage.memory_store import MemoryStore

    settings = read_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
                              "SLACK_CASES_CHANNEL": CHANNEL, "BOT_POLICY": "surrey"})
    return build_app(MemoryStore(), load_policies(ids=("surrey",)), settings, run_scheduler=False)


def _bare_app(api_url: str, *, route: bool = False, open_modal: str = "") -> web.Application:
    """A bare bolt app: ack only, or ack then views.open of our modal ("sdk": bolt's client, "raw": aiohttp).

    With `route`, it sits behind our route's checks (the breakdown).
    """
    import logging

    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.views import modal as form_modal
    from bot.conversation.forms import Forms
    from policies.loader import load_policies

    quiet = logging.getLogger("bench.bare.bolt")
    quiet.setLevel(logging.WARNING)
    session = aiohttp.ClientSession()  # (called with the event loop running) one for every Web API call
    bolt = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url, logger=quiet, session=session),
                    signing_secret=SECRET, logger=quiet)
    modal = form_modal(Forms(load_policies(ids=("surrey",))).start, {"channel": CHANNEL})  # the same view ours opens

    @bolt.command("/escalate")
    async def escalate(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        if open_modal == "raw":
            async with session.post(api_url + "views.open", json={"trigger_id": body["trigger_id"], "view": modal},
                                    headers={"Authorization": f"Bearer {TOKEN}"}) as answer:
                assert (await answer.json())["ok"]
        elif open_modal == "sdk":
            await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    if route:
        from adapters.slack.listeners import HANDLED
        from adapters.slack.route import slack_handler

        app.router.add_post("/slack/events", slack_handler(bolt, SECRET, HANDLED))
    else:
        app.router.add_post("/slack/events", handle)
    return app


def _serve(kind: str, api_url: str, ports: Any) -> None:
    """Child process: build one app, serve it on an ephemeral port, report the port, run until terminated."""
    make: dict[str, Callable[[], web.Application]] = {
        "ours": lambda: _ours_app(api_url), "bare_open": lambda: _bare_app(api_url, open_modal="sdk"),
        "bare": lambda: _bare_app(api_url), "bare_route": lambda: _bare_app(api_url, route=True),
        "bare_open_raw": lambda: _bare_app(api_url, open_modal="raw")}

    async def main() -> None:
        if kind == "fake":
            counts: dict[str, int] = {}
            server = await asyncio.get_running_loop().create_server(lambda: _FakeSlackProtocol(counts), "127.0.0.1", 0,
                                                                    backlog=1024)
            ports.put((kind, server.sockets[0].getsockname()[1]))
            await asyncio.Event().wait()
        runner = web.AppRunner(make[kind](), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.put((kind, runner.addresses[0][1]))
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the load -------------------------------------------------------------------------------------------------
# kind -> (label, opens a modal per request). The first two are the comparison the target is on; the rest break it
# down: the ack-only app, our route's checks alone, and the ceiling against ack-only (the cheapest modal open).
KINDS: dict[str, tuple[str, bool]] = {
    "ours": ("ours: route + bolt + engine + views.open", True),
    "bare_open": ("bare bolt: ack + views.open, same modal", True),
    "bare": ("bare bolt: ack only", False),
    "bare_route": ("bare bolt ack only + our route's checks", False),
    "bare_open_raw": ("bare bolt: ack + raw aiohttp views.open", True),
}


def _base_fields() -> dict[str, str]:
    text = FIXTURE.read_text().strip() if FIXTURE.is_file() else FALLBACK
    fields = dict(parse_qsl(text))
    fields.update(command="/escalate", text="", user_id="U0DEMO0001", user_name="jordan", channel_id=CHANNEL)
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


def _cpu_seconds(pid: int) -> float | None:
    """A process's CPU time so far (user + system), from /proc; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _views_opened(session: aiohttp.ClientSession, fake: str) -> int:
    async with session.get(fake + "/stats") as response:
        return int((await response.json()).get("views.open", 0))


async def _load(urls: dict[str, str], pids: dict[str, int], kinds: list[str], requests: int, rounds: int,
                concurrency: int) -> dict[str, Any]:
    fields = _base_fields()
    out: dict[str, Any] = {kind: [] for kind in kinds}
    opened: dict[str, int] = dict.fromkeys(kinds, 0)
    expected = 0

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency * 2)) as session:

        async def one(kind: str, count: int, tag: str) -> dict[str, Any]:
            nonlocal expected
            before = await _views_opened(session, urls["fake"])
            cpu = {"app": _cpu_seconds(pids[kind]), "fake": _cpu_seconds(pids["fake"])}
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
            for who, pid in (("app", pids[kind]), ("fake", pids["fake"])):
                now, then = _cpu_seconds(pid), cpu[who]
                result[f"{who}_cpu_us"] = None if now is None or then is None else (now - then) / count * 1e6
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
        pids = {"fake": fake.pid}
        for kind in kinds:
            proc, port = _start(kind, api_url, ports, ctx)
            procs.append(proc)
            urls[kind], pids[kind] = f"http://127.0.0.1:{port}/slack/events", proc.pid
        measured = asyncio.run(_load(urls, pids, list(kinds), requests, rounds, concurrency))
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
            "cpu_us": _median([r["app_cpu_us"] for r in measured[kind]]),
            "fake_cpu_us": _median([r["fake_cpu_us"] for r in measured[kind]]) if KINDS[kind][1] else None,
        }
    apps = result["apps"]
    result["target_ratio"] = TARGET_RATIO
    if "bare_open" in apps:
        result["ratio"] = apps["ours"]["rps"] / apps["bare_open"]["rps"]
    if "bare" in apps:
        result["ratio_ack_only"] = apps["ours"]["rps"] / apps["bare"]["rps"]
        if "bare_open_raw" in apps:
            result["ceiling_ack_only"] = apps["bare_open_raw"]["rps"] / apps["bare"]["rps"]
    answered = all(a["statuses"] == {"200": requests * rounds} for a in apps.values())
    modals = all(a["modals"] in (None, requests * rounds) for a in apps.values())
    result["all_answered"] = answered and modals
    result["ok"] = (result.get("ratio", 0) >= TARGET_RATIO and answered and modals
                    and apps["ours"]["p99_ms"] < 3000)
    return result


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def report(result: dict[str, Any]) -> str:
    """The result as a table."""
    lines = [
        f"Signed /escalate over HTTP on 127.0.0.1 ({result['cpus']} CPUs; fake Slack, each app and the load in "
        f"separate processes): {result['concurrency']} concurrent, {result['requests']:,} requests per round, "
        f"{result['rounds']} rounds per app, a fresh signature per request",
        f"{'app':<42}  {'ack p50 ms':>10}  {'ack p99 ms':>10}  {'max ms':>7}  {'req/s':>6}  {'rounds req/s':<16}"
        f"  {'CPU µs/req':>10}  answers / modals",
    ]
    for kind, row in result["apps"].items():
        rounds = "/".join(f"{x:.0f}" for x in row["rps_rounds"])
        answers = ", ".join(f"{n} x {code}" for code, n in row["statuses"].items())
        modals = "" if row["modals"] is None else f" / {row['modals']} modals"
        cpu = "" if row["cpu_us"] is None else f"{row['cpu_us']:.0f}"
        if row["fake_cpu_us"] is not None:
            cpu += f" +{row['fake_cpu_us']:.0f}"
        lines.append(f"{row['label']:<42}  {row['p50_ms']:>10.1f}  {row['p99_ms']:>10.1f}  {row['max_ms']:>7.1f}  "
                     f"{row['rps']:>6.0f}  {rounds:<16}  {cpu:>10}  {answers}{modals}")
        if kind == "bare_open" and len(result["apps"]) > 2:
            lines.append("  breakdown (not part of the target):")
    lines.append("(CPU µs/req: the app's own process per request; +N: the fake Slack's, for apps that open a modal)")
    if "ratio" in result:
        verdict = "OK" if result["ok"] else "MISSED"
        lines.append(f"throughput ratio ours / bare bolt answering the same way (ack + views.open, median req/s): "
                     f"{result['ratio']:.2f} (target >= {result['target_ratio']:g}, with every answer 200, every "
                     f"modal opened and p99 ack < 3 s): {verdict}")
    if "ratio_ack_only" in result:
        line = f"ours / bare bolt that only acks: {result['ratio_ack_only']:.2f}"
        if "ceiling_ack_only" in result:
            line += (f" (the most an app that opens a modal reached against it here, bare bolt + raw aiohttp "
                     f"views.open: {result['ceiling_ack_only']:.2f})")
        lines.append(line)
    return "\n".join(lines)

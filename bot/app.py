"""The wiring module: builds the aiohttp application, the store, the engine and the channels, explicitly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bot.config import Settings, read_settings
from bot.conversation.engine import Engine
from bot.dates.clock import Clock, SystemClock
from bot.jobs.outbox import Outbox
from bot.wiring import make_engine
from policies.model import Policy
from storage.base import Store
from storage.tinydb_store import TinyDBStore

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


@dataclass
class Runtime:
    """What the running app holds: filled in on start-up, once the store is open."""

    store: Store
    policies: Mapping[str, Policy]
    outbox: Outbox = field(default_factory=Outbox)
    engine: Engine | None = None


RUNTIME = web.AppKey("runtime", Runtime)


def build_app(
    store: Store,
    policies: Mapping[str, Policy],
    settings: Settings | None = None,
    clock: Clock | None = None,
    *,
    manage_store: bool = True,
    run_scheduler: bool = True,
    teams: bool = True,
) -> web.Application:
    """The bot's web app. On start-up: open the store, load the directory, build the engine, start the scheduler."""
    settings = settings or read_settings({})
    clock = clock or SystemClock()
    app = web.Application(client_max_size=MAX_BODY)
    runtime = Runtime(store, policies)
    app[RUNTIME] = runtime

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        if manage_store:
            await store.open()
        runtime.engine = await make_engine(store, policies, settings, clock, runtime.outbox)
        task = asyncio.create_task(scheduler_loop(runtime.engine, settings.tick_seconds)) if run_scheduler else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if manage_store:
            await store.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    if settings.slack_enabled:
        from adapters.slack.mount import mount_slack

        mount_slack(app, settings, lambda: _engine(runtime), runtime.outbox)
    if teams and (settings.teams_app_id or settings.teams_emulator):
        from adapters.teams.mount import mount_teams

        mount_teams(app, settings, lambda: _engine(runtime), runtime.outbox)
    return app


def _engine(runtime: Runtime) -> Engine:
    if runtime.engine is None:
        raise RuntimeError("the engine is not started yet")
    return runtime.engine


async def scheduler_loop(engine: Engine, every: int) -> None:
    """Run a scheduler pass now and then every `every` seconds; a failing pass is logged, never fatal.

    A pass lets the channels retry what they keep for later (a case thread that could not be started), sends due
    nudges, then posts the weekly summary if due, then (at the first pass of each London day) expires old dedupe
    records and unfinished forms; that last step logs its own failure and never stops the loop or a nudge.
    """
    while True:
        try:
            await engine.outbox.flush()
            sent = await engine.scheduler.tick()
            if sent:
                log.info("scheduler: %d nudge(s) sent", len(sent))
            posted = await engine.weekly.tick(engine.clock.now())
            if posted:
                log.info("weekly summary posted for %s", posted)
            await engine.dedupe.tick(engine.clock.now())
        except Exception:
            log.exception("scheduler pass failed; trying again in %s s", every)
        await asyncio.sleep(every)


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return web.json_response({"status": "ok", "policies": sorted(runtime.policies)})


def channel_lines(host: str, port: int, data_dir: Path, settings: Settings) -> list[str]:
    """What `serve` prints: which channels are live and how to reach each."""
    base = f"http://{host}:{port}"
    if settings.slack_enabled:
        where = settings.slack_cases_channel or "direct messages (SLACK_CASES_CHANNEL not set)"
        slack = f"  Slack:   live at POST {base}/slack/events (/escalate); case threads in {where}"
    else:
        slack = "  Slack:   off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to serve POST /slack/events)"
    teams_where = settings.teams_cases_channel or "the personal chat (TEAMS_CASES_CHANNEL not set)"
    if settings.teams_app_id:
        teams = f"  Teams:   live at POST {base}/api/messages (escalate); case threads in {teams_where}"
    elif settings.teams_emulator:
        teams = (f"  Teams:   Bot Framework Emulator mode at POST {base}/api/messages (BOT_TEAMS_EMULATOR=1: "
                 f"unauthenticated, loopback only); case threads in {teams_where}")
    else:
        teams = ("  Teams:   off (set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD, or BOT_TEAMS_EMULATOR=1 for the "
                 "local Bot Framework Emulator)")
    return [
        f"Escalation bot listening on {base} (data: {data_dir})",
        f"  health:  GET {base}/healthz",
        slack,
        teams,
        "  console: python -m bot chat --user EMAIL --data DIR (one process per data folder:",
        "           stop this server first, or give the console another --data folder)",
    ]


def serve(
    settings: Settings,
    policies: Mapping[str, Policy],
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
) -> int:
    host = host or settings.host
    port = port or settings.port
    data = data_dir or settings.data_dir
    import ipaddress

    from bot.config import ConfigError

    def loopback(name: str) -> bool:
        try:
            return name.lower() in ("localhost", "localhost.") or ipaddress.ip_address(name.strip("[]")).is_loopback
        except ValueError:
            return False

    if settings.teams_emulator and not loopback(host.strip()):
        raise ConfigError(
            f"refusing to listen on {host}: BOT_TEAMS_EMULATOR is set and MICROSOFT_APP_ID is not, so Teams "
            "requests would not be authenticated (the Bot Framework Emulator's local mode). Set MICROSOFT_APP_ID "
            "and MICROSOFT_APP_PASSWORD, or listen on a loopback address such as 127.0.0.1"
        )
    app = build_app(TinyDBStore(data), policies, settings)
    names = ", ".join(policies)

    def announce(_: object) -> None:
        for line in [*channel_lines(host, port, data, settings), f"  procedures: {names}"]:
            print(line, flush=True)

    web.run_app(app, host=host, port=port, print=announce, access_log=None)
    return 0

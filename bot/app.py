"""The wiring module: builds the aiohttp application, the store, the engine and the channels, explicitly."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.engine import Engine
from policies.model import Policy
from storage.base import Store
from storage.tinydb_store import TinyDBStore

log = logging.getLogger(__name__)
ENGINE = web.AppKey("engine", Engine)
STORE = web.AppKey("store", Store)
MAX_BODY = 1024 * 1024


def build_app(
    store: Store, policies: Mapping[str, Policy], clock: Clock | None = None, *, manage_store: bool = True
) -> web.Application:
    """The bot's web app. The store is opened on start-up and closed on clean-up when `manage_store`."""
    app = web.Application(client_max_size=MAX_BODY)
    app[STORE] = store
    app[ENGINE] = Engine(store, policies, clock or SystemClock())

    async def store_ctx(_: web.Application) -> AsyncIterator[None]:
        await store.open()
        yield
        await store.close()

    if manage_store:
        app.cleanup_ctx.append(store_ctx)
    app.router.add_get("/healthz", healthz)
    return app


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    return web.json_response({"status": "ok", "policies": sorted(engine.policies)})


def channel_lines(host: str, port: int, data_dir: Path) -> list[str]:
    """What `serve` prints: which channels are live and how to reach each."""
    base = f"http://{host}:{port}"
    return [
        f"Escalation bot listening on {base} (data: {data_dir})",
        f"  health:  GET {base}/healthz",
        "  Slack:   not available in this version (planned: POST /slack/events)",
        "  Teams:   not available in this version (planned: POST /api/messages)",
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
    app = build_app(TinyDBStore(data), policies)
    names = ", ".join(policies)

    def announce(_: object) -> None:
        for line in [*channel_lines(host, port, data), f"  procedures: {names}"]:
            print(line, flush=True)

    web.run_app(app, host=host, port=port, print=announce, access_log=None)
    return 0

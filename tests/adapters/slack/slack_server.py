"""A real bot server on 127.0.0.1 with Slack mounted, talking to a fake Slack Web API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from fakes.slack_api import FakeSlack
from slack_support import SECRET, TOKEN, signed_headers

from bot.app import RUNTIME, build_app
from bot.clock import FixedClock
from bot.config import read_settings
from bot.workdays import LONDON
from storage.memory_store import MemoryStore


class SlackBot:
    def __init__(self, url: str, fake: FakeSlack, app: Any, clock: FixedClock) -> None:
        self.url = url
        self.fake = fake
        self.app = app
        self.clock = clock
        self.session = aiohttp.ClientSession()

    @property
    def engine(self) -> Any:
        return self.app[RUNTIME].engine

    async def post(self, body: str, content_type: str = "application/x-www-form-urlencoded",
                   headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        headers = headers if headers is not None else signed_headers(body, content_type)
        async with self.session.post(self.url + "/slack/events", data=body.encode(), headers=headers) as response:
            await response.read()
            return response

    async def post_json(self, body: str, **kw: Any) -> tuple[int, Any]:
        headers = kw.get("headers") or signed_headers(body, "application/x-www-form-urlencoded")
        async with self.session.post(self.url + "/slack/events", data=body.encode(), headers=headers) as response:
            text = await response.text()
            try:
                import json

                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    async def until(self, check: Callable[[], Any], what: str) -> Any:
        """Wait (bounded) for work bolt runs after its ack to show up at the fake Slack."""
        for _ in range(200):
            result = check()
            if result:
                return result
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}; calls: {[c.method for c in self.fake.calls]}")


@pytest.fixture
async def slack_bot(aiohttp_server):
    fake = FakeSlack()
    fake_server = await aiohttp_server(fake.app())
    settings = read_settings({
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_CASES_CHANNEL": "C0CASES01",
        "SLACK_API_URL": f"http://127.0.0.1:{fake_server.port}/api/", "BOT_POLICY": "surrey",
    })
    clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))
    from policies.loader import load_policies

    app = build_app(MemoryStore(), load_policies(ids=("surrey",)), settings, clock, run_scheduler=False)
    server = await aiohttp_server(app)
    bot = SlackBot(f"http://127.0.0.1:{server.port}", fake, app, clock)
    yield bot
    await bot.session.close()

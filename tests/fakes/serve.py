"""The fake Slack Web API and the fake Bot Connector in a process of their own (for tests that load the bot hard:
a fake sharing the test's event loop would fall behind, and the bot's outbound work pile up for that reason alone).

`python tests/fakes/serve.py` prints one line, `slack=<port> connector=<port>`, then serves until terminated. Their
records of calls are kept for the last 1,000 calls only.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from fakes.bot_connector import FakeConnector
from fakes.slack_api import FakeSlack


async def main() -> None:
    slack, connector = FakeSlack(), FakeConnector()
    ports = []
    for app in (slack.app(), connector.app()):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.append(runner.addresses[0][1])
    print(f"slack={ports[0]} connector={ports[1]}", flush=True)
    while True:
        await asyncio.sleep(1)
        del slack.calls[:-1000]
        del connector.calls[:-1000]


if __name__ == "__main__":
    asyncio.run(main())

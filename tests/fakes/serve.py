"""The fake Slack Web API and the fake Bot Connector in a process of their own (for tests that load the bot hard:
a fake sharing the test's event loop would fall behind, and the bot's outbound work pile up for that reason alone).

`python tests/fakes/serve.py [--keep]` prints one line, `slack=<port> connector=<port>`, then serves until
terminated. Their records of calls are kept for the last 1,000 calls only, unless --keep. For a test in another
process to read: `GET /_posts` on the Slack fake lists the messages posted (channel, thread, text, metadata key),
`GET /_views` the modals opened; `GET /_activities` on the connector fake lists the messages delivered to Teams.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from fakes.bot_connector import FakeConnector
from fakes.slack_api import FakeSlack


async def main(keep: bool) -> None:
    slack, connector = FakeSlack(), FakeConnector()

    async def posts(_: web.Request) -> web.Response:
        return web.json_response([
            {"channel": c.args.get("channel"), "thread_ts": c.args.get("thread_ts") or "", "text": c.args.get("text"),
             "ts": c.answer.get("ts"), "key": ((c.args.get("metadata") or {}).get("event_payload") or {}).get("key")}
            for c in slack.calls if c.method == "chat.postMessage" and c.answer.get("ok")])

    async def views(_: web.Request) -> web.Response:
        return web.json_response([c.args.get("view") for c in slack.calls if c.method == "views.open"])

    async def activities(_: web.Request) -> web.Response:
        return web.json_response([{"method": c.method, "conversation": c.conversation, "given": c.given,
                                   "text": c.text, "card": c.card} for c in connector.posted()])

    slack_app = slack.app()
    slack_app.router.add_get("/_posts", posts)
    slack_app.router.add_get("/_views", views)
    connector_app = connector.app()
    connector_app.router.add_get("/_activities", activities)
    ports = []
    for app in (slack_app, connector_app):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.append(runner.addresses[0][1])
    print(f"slack={ports[0]} connector={ports[1]}", flush=True)
    while True:
        await asyncio.sleep(1)
        if not keep:
            del slack.calls[:-1000]
            del connector.calls[:-1000]


if __name__ == "__main__":
    asyncio.run(main("--keep" in sys.argv))

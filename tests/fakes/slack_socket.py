"""A fake Slack Socket Mode server on 127.0.0.1, beside the fake Web API (tests/fakes/slack_api.py) on one server.

`apps.connections.open` answers only the app-level token (`Authorization: Bearer xapp-...`, as Slack does), with the
URL of a WebSocket on this server carrying a one-time ticket. A connection gets `hello`; the test then sends
envelopes, and every message the bot sends back (an ack: `{"envelope_id": ..., "payload": ...}`) is recorded. The
test can close the socket (a WebSocket close), ask the bot to reconnect as Slack does (`disconnect`), or cut the
connection without a word (the TCP connection aborted).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from fakes.slack_api import FakeSlack


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    order: int  # when it arrived, counted with the fake Web API's calls (len(FakeSlack.calls) then)


@dataclass
class FakeSocketMode:
    app_token: str
    web: FakeSlack  # the Web API fake whose calls the acks are ordered against
    opened: list[str] = field(default_factory=list)  # the Authorization of each apps.connections.open
    acks: list[Ack] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)  # every connection, the newest last
    refuse: str = ""  # when set, apps.connections.open answers this error code
    _tickets: set[str] = field(default_factory=set)
    _transports: list[Any] = field(default_factory=list)
    _changed: asyncio.Condition | None = None

    def app(self) -> web.Application:
        """The fake Web API with apps.connections.open and the WebSocket added (ahead of its catch-all route)."""
        return self.web.app(web.post("/api/apps.connections.open", self.connections_open),
                            web.get("/link/", self.link))

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def connections_open(self, request: web.Request) -> web.Response:
        self.opened.append(request.headers.get("Authorization", ""))
        await self._notify()
        if request.headers.get("Authorization") != f"Bearer {self.app_token}":
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if self.refuse:
            return web.json_response({"ok": False, "error": self.refuse})
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        return web.json_response({"ok": True, "url": f"ws://{request.host}/link/?ticket={ticket}&app_id=A111"})

    async def link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # (a ticket works once, as Slack's do)
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()  # (answers the client's pings itself)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A111"},
                            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060}})
        self.sockets.append(ws)
        self._transports.append(request.transport)
        await self._notify()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                ack = json.loads(message.data)
                self.acks.append(Ack(ack.get("envelope_id", ""), ack.get("payload"), len(self.web.calls)))
                await self._notify()
        await self._notify()
        return ws

    async def until(self, check: Any, what: str, timeout: float = 15) -> Any:
        """Wait (bounded) until `check()` is true; its value."""
        async def waited() -> Any:
            async with self.changed:
                await self.changed.wait_for(check)
            return check()

        try:
            return await asyncio.wait_for(waited(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

    async def connected(self, count: int = 1) -> web.WebSocketResponse:
        """The `count`th connection, once it is open."""
        await self.until(lambda: len(self.sockets) >= count and not self.sockets[count - 1].closed,
                         f"connection {count}")
        return self.sockets[count - 1]

    async def send(self, envelope: dict[str, Any]) -> str:
        """Send an envelope on the newest connection; its envelope id."""
        await self.sockets[-1].send_str(json.dumps(envelope))
        return str(envelope.get("envelope_id", ""))

    async def ack_of(self, envelope_id: str, after: int = 0) -> Ack:
        """The ack of an envelope (the first after `after` acks of it already seen)."""
        def found() -> list[Ack]:
            return [a for a in self.acks if a.envelope_id == envelope_id][after:]

        return (await self.until(found, f"the ack of {envelope_id}"))[0]

    def acked(self, envelope_id: str) -> list[Ack]:
        return [a for a in self.acks if a.envelope_id == envelope_id]

    async def close(self) -> None:
        """Close the newest connection with a WebSocket close."""
        await self.sockets[-1].close()

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the bot to connect again, as Slack does before it retires a connection."""
        await self.sockets[-1].send_json({"type": "disconnect", "reason": reason,
                                          "debug_info": {"host": "fake-socket-mode"}})

    def cut(self) -> None:
        """Abort the newest connection's TCP connection: no close frame, no word."""
        self._transports[-1].abort()


def envelope(kind: str, payload: dict[str, Any], *, envelope_id: str = "", retry_attempt: int | None = None,
             retry_reason: str = "") -> dict[str, Any]:
    """A Socket Mode envelope as Slack sends it (tests/fixtures/slack/socket_mode_*_envelope.json) around a
    payload: `slash_commands` and `interactive` accept a response payload; `events_api` carries retry fields."""
    message: dict[str, Any] = {"envelope_id": envelope_id or str(uuid.uuid4()), "payload": payload, "type": kind,
                               "accepts_response_payload": kind != "events_api"}
    if kind == "events_api" or retry_attempt is not None:
        message.update(retry_attempt=retry_attempt or 0, retry_reason=retry_reason)
    return message

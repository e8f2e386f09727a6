"""Slack over Socket Mode (SLACK_APP_TOKEN): the bot opens a WebSocket to Slack, so it needs no public address.

Each envelope's payload is checked by adapters/slack/shapes.py and goes through the gate shared with
`POST /slack/events` (adapters/slack/gate.py) to the same bolt app and listeners: an envelope seen already (its
envelope id, or an event's id, again) is acknowledged with no second effect, what nothing of ours handles gets the
same polite answer, and "busy" is said the same way. An envelope is acknowledged as soon as its listener acks (its
answer, a form's errors say, travels in the ack), before the slow work, which goes on whatever then happens to the
socket. An envelope not taken (busy, or bolt failed) is not acknowledged: Slack sends an event again, and a person
whose form or click it was is told by Slack that it did not go through, to send it again.

slack_sdk's aiohttp client keeps the connection: it pings, and when the socket drops or Slack asks it to
(`disconnect`), it asks `apps.connections.open` (at SLACK_API_URL, like every Web API call) for a new URL and
connects again. Nothing logged here carries a payload or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import shapes
from adapters.slack.gate import Answer, Gate
from adapters.slack.shapes import Handled

log = logging.getLogger(__name__)
ROUTE = "socket_mode"  # how envelopes are counted beside HTTP routes (metrics)
PING_SECONDS = 10.0  # slack_sdk's ping to Slack; a connection silent for four of them is replaced (bolt's default)
STOP_SECONDS = 5.0  # at a stop, how long envelopes being answered have to be acknowledged before the socket closes
RETRY_SECONDS = (1, 2, 5, 10, 30, 60)  # waits between attempts to open the first connection
ENVELOPE_ID = re.compile(r"[!-~]{1,255}")
TICKET = re.compile(r"ticket=[^&\s'\"]+")
Measure = Callable[[str, int, float], None]


def _unmeasured(route: str, status: int, seconds: float) -> None:
    return None


class Redacted(logging.Filter):
    """slack_sdk's log lines without the one-time ticket of a connection URL (an error can quote the URL), and without
    tracebacks (whose messages can quote it too): the error's type is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = TICKET.sub("ticket=[redacted]", record.getMessage())
        if record.exc_info and record.exc_info[0] is not None:
            text += f" ({record.exc_info[0].__name__})"
        record.msg, record.args, record.exc_info, record.exc_text = text, None, None, None
        return True


def sdk_logger() -> logging.Logger:
    """slack_sdk's socket client logs here: connections made and lost at INFO (a payload only ever at DEBUG)."""
    logger = logging.getLogger("adapters.slack.socket_sdk")
    logger.setLevel(logging.INFO)
    if not any(isinstance(f, Redacted) for f in logger.filters):
        logger.addFilter(Redacted())
    return logger


class SocketMode:
    """The Socket Mode connection and what it hands to bolt. `running` (for the app's cleanup_ctx) connects and,
    on the way out, stops taking envelopes, lets those being answered be acknowledged, and closes."""

    def __init__(self, bolt: AsyncApp, web_client: AsyncWebClient, app_token: str, handled: Handled,
                 overloaded: Callable[[], bool], measure: Measure | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.bolt = bolt
        self.web_client = web_client
        self._app_token = app_token
        self.handled = handled
        self.gate = Gate(bolt, overloaded)
        self.measure = measure or _unmeasured
        self.clock = clock
        self.ping_seconds = PING_SECONDS
        self.client: SocketModeClient | None = None
        self.stopping = False
        self._answering = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._connecting: asyncio.Task[None] | None = None
        self._last_problem = ""  # why the first connection has not been made yet (for /readyz)

    def __repr__(self) -> str:  # (never the token)
        return f"SocketMode(connected={self.client is not None and not self.stopping})"

    async def running(self, _: web.Application) -> AsyncIterator[None]:
        """Connect in the background (a start never waits on Slack; /readyz says when it is connected), and on
        clean-up stop (see `stop`)."""
        self.client = SocketModeClient(app_token=self._app_token, logger=sdk_logger(), web_client=self.web_client,
                                       proxy=self.web_client.proxy, ping_interval=self.ping_seconds)
        self.client.socket_mode_request_listeners.append(self.handle)
        self._connecting = asyncio.create_task(self._connect(self.client))
        yield
        await self.stop()

    async def _connect(self, client: SocketModeClient) -> None:
        """The first connection: a URL from apps.connections.open, tried again (with a clear line) until it comes;
        after that slack_sdk connects (and reconnects) by itself."""
        for attempt in itertools.count():
            wait = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            try:
                client.wss_uri = await client.issue_new_wss_url()
            except SlackApiError as exc:
                self._last_problem = f"Slack refused it: {exc.response.get('error', 'unknown error')}; check " \
                    "SLACK_APP_TOKEN"
                log.error("slack: Slack refused a Socket Mode connection (%s): check SLACK_APP_TOKEN (an app-level "
                          "token with connections:write) and that Socket Mode is on in the app's settings; trying "
                          "again in %d s", exc.response.get("error", "unknown error"), wait)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self._last_problem = f"Slack could not be reached ({type(exc).__name__})"
                log.warning("slack: could not reach Slack to open a Socket Mode connection (%s); trying again in "
                            "%d s", type(exc).__name__, wait)
            else:
                await client.connect()
                self._last_problem = ""
                log.info("slack: connected over Socket Mode")
                return
            await asyncio.sleep(wait)

    async def stop(self) -> None:
        """Take no more envelopes (those arriving now are not acknowledged: Slack sends an event again, to another
        replica's connection or to this bot once it is back), give those being answered STOP_SECONDS to be
        acknowledged, then close the socket. Work already acknowledged goes on (the app waits for it)."""
        if self.stopping:
            return
        self.stopping = True
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), STOP_SECONDS)
        client = self.client
        if client is not None:
            await client.close()
            for task in (client.message_processor, client.current_session_monitor, client.message_receiver):
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            log.info("slack: Socket Mode connection closed")

    async def not_ready(self) -> str:
        """Why Slack cannot reach the bot just now ("" when it can): the socket is not connected."""
        if self.client is None or self.stopping or not await self.client.is_connected():
            return f"the Slack Socket Mode connection is not open ({self._last_problem or 'connecting'})"
        return ""

    async def handle(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        """One envelope (slack_sdk calls this for each, concurrently): checked, answered through the gate, acked."""
        if self.stopping:
            return
        started = time.perf_counter()
        self._answering += 1
        self._idle.clear()
        try:
            status = await self._answer(client, request)
        finally:
            self._answering -= 1
            if not self._answering:
                self._idle.set()
        self.measure(ROUTE, status, time.perf_counter() - started)

    async def _answer(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> int:
        envelope_id = request.envelope_id
        if not isinstance(envelope_id, str) or not ENVELOPE_ID.fullmatch(envelope_id):
            log.info("slack: ignored an envelope without a usable envelope id")
            return 400
        try:
            parsed = shapes.envelope(request.type, request.payload, self.handled)
        except (ValueError, RecursionError) as exc:  # (Malformed names the field, never its value)
            log.info("slack: acknowledged a malformed envelope and did nothing with it (%s)",
                     exc if isinstance(exc, shapes.Malformed) else type(exc).__name__)
            await self._ack(client, envelope_id)  # (sent again, it would be as malformed)
            return 400
        # A redelivery keeps its envelope id; an event keeps its event id however it comes (a redelivery under a new
        # envelope id, or an event sent again): either seen already means no second effect.
        keys = [f"envelope:{envelope_id}", *([f"event:{parsed.event_id}"] if parsed.event_id else [])]
        answer = await self.gate.admit(parsed, keys, self.clock(), lambda body: self._bolt_request(body, request))
        if not answer.taken:
            return 503  # not acknowledged: Slack sends an event again; a person is told it did not go through
        await self._ack(client, envelope_id, _payload(answer) if request.accepts_response_payload else None)
        return 200

    @staticmethod
    def _bolt_request(body: dict[str, Any], request: SocketModeRequest) -> AsyncBoltRequest:
        headers: dict[str, str | list[str]] = {}  # (as bolt's own Socket Mode adapter passes a redelivery on)
        if isinstance(request.retry_attempt, int):
            headers["x-slack-retry-num"] = str(request.retry_attempt)
        if isinstance(request.retry_reason, str) and request.retry_reason:
            headers["x-slack-retry-reason"] = request.retry_reason[:100]
        return AsyncBoltRequest(body=body, headers=headers or None, mode="socket_mode")  # type: ignore[arg-type]

    @staticmethod
    async def _ack(client: AsyncBaseSocketModeClient, envelope_id: str, payload: dict[str, Any] | None = None) -> None:
        try:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id, payload=payload))
        except Exception as exc:  # (the socket dropped: Slack sends the envelope again, and it has no second effect)
            log.warning("slack: could not acknowledge an envelope (%s); Slack sends it again", type(exc).__name__)


def _payload(answer: Answer) -> dict[str, Any] | None:
    """What an acknowledgement carries: bolt's answer (a form's errors, its next view) or ours; None for nothing."""
    if answer.bolt is None:
        return answer.body
    body = answer.bolt.body
    if not body:
        return None
    content_type = answer.bolt.headers.get("content-type", [""])[0]
    if content_type.startswith("application/json"):
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else None
    return {"text": body}

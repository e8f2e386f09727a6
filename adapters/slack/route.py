"""`POST /slack/events`: checks every request before bolt sees it, then hands it to bolt.

bolt parses before it verifies (an unsigned request with a bad timestamp or bad JSON gets a 500), processes a
validly signed replay again, and logs a rejected body at INFO. So here, in order: the signature headers' form and
freshness (401, before the body is read), a size and time limit on the body (413, 408), the signature itself (401),
the body's syntax and shape (400: adapters/slack/shapes.py); then the gate shared with Socket Mode
(adapters/slack/gate.py): a replay or retry of a request already handled (200, no second effect), a polite answer for
what nothing of ours handles, "busy" (503 with Retry-After, or a private note for a command), then bolt, given the
checked body. Nothing logged here carries a body or a token.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.http import read_limited
from adapters.slack import shapes
from adapters.slack.gate import WINDOW, Answer, Gate, never
from adapters.slack.shapes import Handled

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
STAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds: a longer "number" would only overflow
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # Slack's format; anything else could never verify


def slack_handler(bolt: AsyncApp, signing_secret: str, handled: Handled, clock: Callable[[], float] = time.time,
                  overloaded: Callable[[], bool] = never) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The route. `handled`: what our listeners answer; nothing else reaches bolt (adapters/slack/shapes.py).
    `overloaded`: whether the process has too much in flight to take more on (then "busy", before any effect)."""
    verifier = SignatureVerifier(signing_secret)
    gate = Gate(bolt, overloaded)

    async def handle(request: web.Request) -> web.StreamResponse:
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        now = clock()
        if not (STAMP.fullmatch(stamp) and SIGNATURE.fullmatch(signature)) or abs(now - int(stamp)) > WINDOW:
            log.info("slack: refused a request with a missing, malformed or stale signature")
            return web.Response(status=401, text="invalid request")  # before reading a byte of the body
        body = await read_limited(request, MAX_BODY)
        if isinstance(body, web.Response):
            return body
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="malformed request")
        if not verifier.is_valid(body=body, timestamp=stamp, signature=signature):
            log.info("slack: refused a request with a bad signature")
            return web.Response(status=401, text="invalid request")
        try:
            parsed = shapes.parse(text, request.content_type, handled)
        except (ValueError, RecursionError) as exc:  # (Malformed names the field, never its value)
            log.info("slack: refused a malformed request (%s)", exc if isinstance(exc, shapes.Malformed)
                     else type(exc).__name__)
            return web.Response(status=400, text="malformed request")
        keys = [f"sig:{signature}", *([f"event:{parsed.event_id}"] if parsed.event_id else [])]

        def bolt_request(body: dict[str, Any]) -> AsyncBoltRequest:
            # bolt is given the checked body (its own parse of the text is skipped) and still checks the raw text's
            # signature itself.
            made = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
            made.raw_body, made.body = text, body
            made.context = build_async_context(AsyncBoltContext({}), body)
            return made

        return await http_response(await gate.admit(parsed, keys, now, bolt_request))

    return handle


async def http_response(answer: Answer) -> web.StreamResponse:
    """The gate's answer as Slack takes it over HTTP: 200 (bolt's answer, ours, or empty), or 503 when not taken
    (Slack retries an event; with Retry-After when the process was too busy)."""
    if not answer.taken:
        if answer.retry_after:
            return web.Response(status=503, text="busy, try again", headers={"Retry-After": str(answer.retry_after)})
        return web.Response(status=503, text="try again")
    if answer.bolt is not None:
        return await to_aiohttp_response(answer.bolt)
    if answer.body is not None:
        return web.json_response(answer.body)
    return web.Response(status=200, text="")

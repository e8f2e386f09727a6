"""`POST /slack/events`: checks every request before bolt sees it, then hands it to bolt.

bolt parses before it verifies (an unsigned request with a bad timestamp or bad JSON gets a 500), processes a
validly signed replay again, and logs a rejected body at INFO. So here, in order: a size limit (413), the signature
and its freshness (401), a replay or retry of a request already handled (200, no second effect), the body's syntax
(400), then bolt. Nothing logged here carries a body or a token.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.http import read_limited

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
WINDOW = 300  # seconds: Slack's own staleness limit
FORM = re.compile(r"[^&=]*=[^&]*(?:&[^&=]*=[^&]*)*")  # name=value pairs joined by "&", each with its "="


class Seen:
    """Keys seen in the last `ttl` seconds (request signatures, event ids), bounded in size."""

    def __init__(self, ttl: float = 2 * WINDOW, limit: int = 50_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._keys: OrderedDict[str, float] = OrderedDict()

    def add(self, key: str, now: float) -> bool:
        """True if new; False if seen within the window."""
        while self._keys and (next(iter(self._keys.values())) < now - self.ttl or len(self._keys) > self.limit):
            self._keys.popitem(last=False)
        if key in self._keys:
            return False
        self._keys[key] = now
        return True


def slack_handler(bolt: AsyncApp, signing_secret: str,
                  clock: Callable[[], float] = time.time) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    verifier = SignatureVerifier(signing_secret)
    seen = Seen()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await read_limited(request, MAX_BODY)
        if isinstance(body, web.Response):
            return body
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        now = clock()
        if not (stamp.isascii() and stamp.isdigit()) or abs(now - int(stamp)) > WINDOW or not signature:
            log.info("slack: refused a request with a missing or stale signature")
            return web.Response(status=401, text="invalid request")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="malformed request")
        if not verifier.is_valid(body=body, timestamp=stamp, signature=signature):
            log.info("slack: refused a request with a bad signature")
            return web.Response(status=401, text="invalid request")
        try:
            text = body.decode("utf-8")
            event_id = _event_id(text, request.content_type)
        except (UnicodeDecodeError, ValueError):
            return web.Response(status=400, text="malformed request")
        if not seen.add(f"sig:{signature}", now) or (event_id and not seen.add(f"event:{event_id}", now)):
            log.info("slack: a replayed or retried request was acknowledged without a second effect")
            return web.Response(status=200, text="")
        response = await bolt.async_dispatch(AsyncBoltRequest(body=text, query=request.query_string,
                                                              headers=dict(request.headers)))
        if response.status == 404 and event_id:
            return web.Response(status=200, text="")  # an event nobody listens to: no retries, please
        if response.status >= 500:
            log.error("slack: bolt answered %s", response.status)
            return web.Response(status=503, text="try again")
        return await to_aiohttp_response(response)

    return handle


def _event_id(text: str, content_type: str) -> str:
    """Check the body parses as bolt will parse it; return an Events API event id ("" for commands and clicks).

    Mirrors `slack_bolt.request.internals.parse_body`, so that nothing which passes here can make bolt fail: JSON
    when the content type says so or the body starts with "{"; a form's `payload` field as JSON; else a plain form
    (a slash command), checked by one pattern rather than parsed twice (it is /escalate's hot path).
    """
    if not text:
        return ""
    if content_type == "application/json" or text.startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return str(data.get("event_id", ""))
    if "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None and not isinstance(json.loads(payload), dict):
            raise ValueError("payload is not an object")
        return ""
    if not FORM.fullmatch(text):
        raise ValueError("not a form")
    return ""

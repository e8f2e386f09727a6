"""`POST /slack/events`: checks every request before bolt sees it, then hands it to bolt.

bolt parses before it verifies (an unsigned request with a bad timestamp or bad JSON gets a 500), processes a
validly signed replay again, and logs a rejected body at INFO. So here, in order: the signature headers' form and
freshness (401, before the body is read), a size and time limit on the body (413, 408), the signature itself (401),
the body's syntax and shape (400: adapters/slack/shapes.py), a replay or retry of a request already handled (200, no
second effect), then bolt, given the checked body, only for what one of our listeners answers. Nothing logged here
carries a body or a token.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.http import read_limited
from adapters.slack import shapes
from adapters.slack.shapes import Handled

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
WINDOW = 300  # seconds: Slack's own staleness limit
STAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds: a longer "number" would only overflow
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # Slack's format; anything else could never verify


class Seen:
    """Keys seen in the last `ttl` seconds (request signatures, event ids), bounded in size. Each is kept as a 16-byte
    digest: at Slack's busiest this holds tens of thousands of them."""

    def __init__(self, ttl: float = 2 * WINDOW, limit: int = 50_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._keys: OrderedDict[bytes, float] = OrderedDict()

    @staticmethod
    def _digest(key: str) -> bytes:
        return hashlib.blake2b(key.encode(), digest_size=16).digest()

    def add_all(self, keys: list[str], now: float) -> bool:
        """Add every key if none was seen within the window (True); else add none (False)."""
        while self._keys and (next(iter(self._keys.values())) < now - self.ttl or len(self._keys) > self.limit):
            self._keys.popitem(last=False)
        digests = [self._digest(key) for key in keys]
        if any(digest in self._keys for digest in digests):
            return False
        self._keys.update(dict.fromkeys(digests, now))
        return True

    def forget(self, keys: list[str]) -> None:
        """Forget keys, so that a retry of a request that failed is handled."""
        for key in keys:
            self._keys.pop(self._digest(key), None)


def never() -> bool:
    return False


def slack_handler(bolt: AsyncApp, signing_secret: str, handled: Handled, clock: Callable[[], float] = time.time,
                  overloaded: Callable[[], bool] = never) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The route. `handled`: what our listeners answer; nothing else reaches bolt (adapters/slack/shapes.py).
    `overloaded`: whether the process has too much in flight to take more on (then "busy", before any effect)."""
    verifier = SignatureVerifier(signing_secret)
    seen = Seen()

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
        if not seen.add_all(keys, now):
            log.info("slack: a replayed or retried request was acknowledged without a second effect")
            return web.Response(status=200, text="")
        if parsed.body is None:
            return unhandled(parsed)
        if overloaded():
            seen.forget(keys)  # (nothing took effect: the same request again must be handled)
            return busy(parsed)
        # bolt is given the checked body (its own parse of the text is skipped) and still checks the raw text's
        # signature itself.
        bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
        bolt_request.raw_body, bolt_request.body = text, parsed.body
        bolt_request.context = build_async_context(AsyncBoltContext({}), parsed.body)
        response = await bolt.async_dispatch(bolt_request)
        if response.status == 404:  # ours (nothing else gets here), but its listener missed bolt's 3 s: it goes on
            log.warning("slack: a %s listener acknowledged late; its work continues", parsed.kind)
            return web.Response(status=200, text="")
        if response.status >= 500:
            seen.forget(keys)  # nothing took effect: Slack's retry of this event must be handled, not swallowed
            log.error("slack: bolt answered %s", response.status)
            return web.Response(status=503, text="try again")
        return await to_aiohttp_response(response)

    return handle


# A view nobody handles any more (an old form left open across an upgrade): replace it with a way forward.
STALE_FORM = {"type": "modal", "title": {"type": "plain_text", "text": "Escalate a disagreement"},
              "close": {"type": "plain_text", "text": "Close"},
              "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": (
                  "Sorry, this form can no longer be sent (the bot has changed since it was opened). Nothing in it "
                  "was saved. Please close it and start again with /escalate.")}}]}
UNKNOWN_COMMAND = {"response_type": "ephemeral",
                   "text": "Sorry, this app only answers /escalate. Type /escalate help to see what it does."}


BUSY = {"response_type": "ephemeral",
        "text": "Sorry, I am very busy just now and could not take that on. Please try the same again in a minute."}


def busy(parsed: shapes.Parsed) -> web.Response:
    """Too much in flight: a person typing a command is told to try again in a minute; anything else gets 503 with
    Retry-After (Slack retries an event; a form stays open, saying it could not be sent, to be sent again)."""
    log.warning("slack: too busy to take a %s on; asked to try again", parsed.kind)
    if parsed.kind == "command":
        return web.json_response(BUSY)
    return web.Response(status=503, text="busy, try again", headers={"Retry-After": "30"})


def unhandled(parsed: shapes.Parsed) -> web.Response:
    """Nothing of ours answers this (bolt alone would answer 404, which Slack shows as an error): acknowledge it,
    with a way forward where a person is waiting.

    Slack's URL check gets its challenge back; an event is acknowledged so that Slack does not retry it; another
    slash command gets a private "only /escalate"; a form nobody handles any more gets a closing view saying to start
    again; any other click is acknowledged and changes nothing.
    """
    log.info("slack: nothing handles this %s; acknowledged", parsed.kind)
    if parsed.kind == "url_verification":
        return web.json_response({"challenge": parsed.challenge})
    if parsed.kind == "command":
        return web.json_response(UNKNOWN_COMMAND)
    if parsed.kind == "view_submission":
        return web.json_response({"response_action": "update", "view": STALE_FORM})
    return web.Response(status=200, text="")

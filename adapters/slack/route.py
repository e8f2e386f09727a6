"""`POST /slack/events`: checks every request before bolt sees it, then hands it to bolt.

bolt parses before it verifies (an unsigned request with a bad timestamp or bad JSON gets a 500), processes a
validly signed replay again, and logs a rejected body at INFO. So here, in order: the signature headers' form and
freshness (401, before the body is read), a size and time limit on the body (413, 408), the signature itself (401),
a replay or retry of a request already handled (200, no second effect), the body's syntax (400), then bolt. Nothing
logged here carries a body or a token.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.http import read_limited

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
WINDOW = 300  # seconds: Slack's own staleness limit
STAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds: a longer "number" would only overflow
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # Slack's format; anything else could never verify
FORM = re.compile(r"[^&=]*=[^&]*(?:&[^&=]*=[^&]*)*")  # name=value pairs joined by "&", each with its "="


class Seen:
    """Keys seen in the last `ttl` seconds (request signatures, event ids), bounded in size."""

    def __init__(self, ttl: float = 2 * WINDOW, limit: int = 50_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._keys: OrderedDict[str, float] = OrderedDict()

    def add_all(self, keys: list[str], now: float) -> bool:
        """Add every key if none was seen within the window (True); else add none (False)."""
        while self._keys and (next(iter(self._keys.values())) < now - self.ttl or len(self._keys) > self.limit):
            self._keys.popitem(last=False)
        if any(key in self._keys for key in keys):
            return False
        self._keys.update(dict.fromkeys(keys, now))
        return True

    def forget(self, keys: list[str]) -> None:
        """Forget keys, so that a retry of a request that failed is handled."""
        for key in keys:
            self._keys.pop(key, None)


def slack_handler(bolt: AsyncApp, signing_secret: str, clock: Callable[[], float] = time.time,
                  handled: frozenset[str] = frozenset()) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The route. `handled`: the slash commands and view callback ids our listeners answer, so that one acknowledged
    too late for bolt (which then answers 404) is not mistaken for a request nobody handles."""
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
            body.decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="malformed request")
        if not verifier.is_valid(body=body, timestamp=stamp, signature=signature):
            log.info("slack: refused a request with a bad signature")
            return web.Response(status=401, text="invalid request")
        try:
            text = body.decode("utf-8")
            kind, event_id, name = _kind(text, request.content_type)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return web.Response(status=400, text="malformed request")
        keys = [f"sig:{signature}", *([f"event:{event_id}"] if event_id else [])]
        if not seen.add_all(keys, now):
            log.info("slack: a replayed or retried request was acknowledged without a second effect")
            return web.Response(status=200, text="")
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
        if kind == "form":  # bolt's parse_body took a form that merely contains "payload" for an empty interaction
            bolt_request.body = dict(parse_qsl(text, keep_blank_values=True))
            bolt_request.context = build_async_context(AsyncBoltContext({}), bolt_request.body)
        response = await bolt.async_dispatch(bolt_request)
        if response.status == 404:
            if name in handled:  # ours, but its listener did not ack within bolt's 3 s: the work goes on
                log.warning("slack: a %s listener acknowledged late; its work continues", kind)
                return web.Response(status=200, text="")
            return unhandled(kind)
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
PAYLOAD_TYPE = re.compile(r"[a-z_]{1,40}")


def unhandled(kind: str) -> web.Response:
    """bolt found no listener (it would answer 404, which Slack shows as an error): acknowledge with a way forward.

    An event is acknowledged so that Slack does not retry it; a slash command gets a private "only /escalate"; a
    form submission gets a closing view saying to start again; any other click is acknowledged and changes nothing.
    """
    log.info("slack: nothing handles this %s; acknowledged", kind)
    if kind in ("command", "form"):
        return web.json_response(UNKNOWN_COMMAND)
    if kind == "view_submission":
        return web.json_response({"response_action": "update", "view": STALE_FORM})
    return web.Response(status=200, text="")


def _kind(text: str, content_type: str) -> tuple[str, str, str]:
    """Check the body parses as bolt will parse it; return what it is, its Events API event id (or ""), and its name
    (a slash command, or a view's callback id; else "").

    The kind is "event" (JSON: the Events API), "command" (a form without a payload: a slash command), "form" (a
    form that mentions "payload" without one), or an interactivity payload's own type ("block_actions", ...). Mirrors
    `slack_bolt.request.internals.parse_body`, so that nothing which passes here can make bolt fail: JSON when the
    content type says so or the body starts with "{"; a form's `payload` field as JSON; else a plain form, checked by
    one pattern rather than parsed twice (it is /escalate's hot path).
    """
    if not text:
        return "empty request", "", ""
    if content_type == "application/json" or text.startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return "event", str(data.get("event_id", "")), ""
    if not FORM.fullmatch(text):
        raise ValueError("not a form")
    if "payload" in text:
        fields = dict(parse_qsl(text, keep_blank_values=True))
        payload = fields.get("payload")
        if payload is None:  # a slash command with "payload" in it (its text, channel name, ...): fixed for bolt
            return "form", "", fields.get("command", "")
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise ValueError("payload is not an object")
        kind = str(data.get("type", ""))
        view = data.get("view")
        name = str(view.get("callback_id", "")) if isinstance(view, dict) else ""
        return (kind if PAYLOAD_TYPE.fullmatch(kind) else "interaction"), "", name
    return "command", "", _command(text)


def _command(text: str) -> str:
    """A slash command's name from its form body, without parsing the rest ("" if it has none)."""
    start = text.find("command=")
    while start > 0 and text[start - 1] != "&":
        start = text.find("command=", start + 1)
    if start < 0:
        return ""
    end = text.find("&", start)
    return unquote_plus(text[start + 8: end if end >= 0 else len(text)])

"""What every checked Slack payload goes through before bolt, whichever way it came: a signed request to
`POST /slack/events` (adapters/slack/route.py) or an envelope over Socket Mode (adapters/slack/socket_mode.py).

In order: once only (a payload seen already is acknowledged with no second effect), a polite answer for what none of
our listeners answers, "busy" when the process has too much in flight (before any effect), then bolt, given the
checked body. Each way of coming turns the `Answer` into its own form (an HTTP response; an envelope's ack).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.slack.shapes import Parsed

log = logging.getLogger(__name__)
WINDOW = 300  # seconds: Slack's own staleness limit for a signed request


class Seen:
    """Keys seen in the last `ttl` seconds (request signatures, envelope and event ids), bounded in size. Each is kept
    as a 16-byte digest: at Slack's busiest this holds tens of thousands of them."""

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


@dataclass(frozen=True)
class Answer:
    """How Slack is answered. Taken: acknowledged, with bolt's own answer (`bolt`), a JSON answer of ours (`body`), or
    nothing. Not taken (`taken=False`): nothing took effect, so Slack (or the person) may send it again;
    `retry_after`, in seconds, when the process was too busy."""

    taken: bool = True
    body: dict[str, Any] | None = None
    bolt: BoltResponse | None = None
    retry_after: int = 0


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
BUSY_SECONDS = 30


def never() -> bool:
    return False


class Gate:
    """Once only, polite answers, "busy", then bolt: one gate for every way a payload comes in."""

    def __init__(self, bolt: AsyncApp, overloaded: Callable[[], bool] = never) -> None:
        self.bolt = bolt
        self.overloaded = overloaded
        self.seen = Seen()

    async def admit(self, parsed: Parsed, keys: list[str], now: float,
                    request: Callable[[dict[str, Any]], AsyncBoltRequest]) -> Answer:
        """Answer a checked payload whose once-only `keys` are given; `request` makes bolt's request of the clean
        body."""
        if not self.seen.add_all(keys, now):
            log.info("slack: a replayed or redelivered %s was acknowledged without a second effect", parsed.kind)
            return Answer()
        if parsed.body is None:
            return Answer(body=unhandled(parsed))
        if self.overloaded():
            self.seen.forget(keys)  # (nothing took effect: the same payload again must be handled)
            return busy(parsed)
        response = await self.bolt.async_dispatch(request(parsed.body))
        if response.status == 404:  # ours (nothing else gets here), but its listener missed bolt's 3 s: it goes on
            log.warning("slack: a %s listener acknowledged late; its work continues", parsed.kind)
            return Answer()
        if response.status >= 500:
            self.seen.forget(keys)  # nothing took effect: Slack's retry of this event must be handled, not swallowed
            log.error("slack: bolt answered %s", response.status)
            return Answer(taken=False)
        return Answer(bolt=response)


def busy(parsed: Parsed) -> Answer:
    """Too much in flight: a person typing a command is told to try again in a minute; anything else is not taken
    (Slack retries an event; a form stays open, saying it could not be sent, to be sent again)."""
    log.warning("slack: too busy to take a %s on; asked to try again", parsed.kind)
    if parsed.kind == "command":
        return Answer(body=BUSY)
    return Answer(taken=False, retry_after=BUSY_SECONDS)


def unhandled(parsed: Parsed) -> dict[str, Any] | None:
    """Nothing of ours answers this (bolt alone would answer 404, which Slack shows as an error): the answer that
    acknowledges it, with a way forward where a person is waiting (None: an empty acknowledgement).

    Slack's URL check gets its challenge back; an event is acknowledged so that Slack does not retry it; another
    slash command gets a private "only /escalate"; a form nobody handles any more gets a closing view saying to start
    again; any other click is acknowledged and changes nothing.
    """
    log.info("slack: nothing handles this %s; acknowledged", parsed.kind)
    if parsed.kind == "url_verification":
        return {"challenge": parsed.challenge}
    if parsed.kind == "command":
        return UNKNOWN_COMMAND
    if parsed.kind == "view_submission":
        return {"response_action": "update", "view": STALE_FORM}
    return None

"""Hypothesis strategies for the fuzz gates: real platform payloads, mutated the way a broken client or a forger
would (a field of the wrong type, a field missing, an unexpected field, a list where an object was), and a server to
throw them at, run on its own event loop so that a plain (synchronous) hypothesis test can drive it.

The gates run with a fixed seed (`derandomize=True`) and no example database, so CI sees the same inputs every run.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The names the bots, bolt and botbuilder read: mutations that hit them reach the most code.
NAMES = ("type", "event", "authorizations", "user", "team", "channel", "enterprise", "view", "actions",
         "action_id", "action_ts", "callback_id", "state", "values", "answer", "value", "selected_option",
         "selected_date", "message", "previous_message", "response_urls", "response_url", "trigger_id", "event_id",
         "text", "id", "private_metadata", "is_enterprise_install", "enterprise_id", "team_id", "user_id",
         "is_ext_shared_channel", "user_team", "item", "thread_ts", "ts", "command", "channel_id", "from",
         "conversation", "recipient", "serviceUrl", "channelData", "tenant", "entities", "attachments",
         "replyToId", "name", "aadObjectId", "conversationType", "mentioned", "content", "data", "action", "verb")

# Text no real client sends but a forger can: a lone surrogate (from a "\ud800" escape), JSON nested past Python's
# recursion limit inside a string field (private_metadata, a button's value), control characters, a long run.
ODD_TEXT = ("\ud800", "a\udfffb", "[" * 5000, '{"a":' * 3000, "\x00\x1f\x7f", "x" * 5000, "\u202e\ufeff",
            "ESC-2026-0001\n", "%00", "../../etc/passwd")
leaves = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64)
          | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12) | st.sampled_from(NAMES)
          | st.sampled_from(ODD_TEXT) | st.text(st.characters(codec=None, categories=["Cs", "Cc", "So"]), max_size=4))
names = st.sampled_from(NAMES) | st.text(max_size=8)
json_values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(names, inner, max_size=3), max_leaves=8)

GATE = settings(max_examples=2000, derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON value (the value itself included)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def _at(root: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        root = root[step]
    return root


@st.composite
def mutated(draw: st.DrawFn, base: Any, most: int = 3) -> Any:
    """`base` (copied) with 1..`most` mutations, each at a path drawn from those it has then."""
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, most))):
        where = draw(st.sampled_from(list(paths(value))))
        how = draw(st.sampled_from(("replace", "delete", "add", "wrap")))
        if not where:  # the whole body
            value = draw(json_values) if how == "replace" else [value] if how == "wrap" else value
            continue
        parent, last = _at(value, where[:-1]), where[-1]
        if how == "replace":
            parent[last] = draw(json_values)
        elif how == "delete":
            del parent[last]
        elif how == "wrap":
            parent[last] = [parent[last]]
        elif isinstance(parent[last], dict):
            parent[last][draw(names)] = draw(json_values)
        else:
            parent[last] = draw(json_values)
    return value


class Loop:
    """A server (and its fakes) on an event loop of its own, driven from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.servers: list[TestServer] = []

    def run(self, work: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(work)

    def serve(self, app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        self.run(server.start_server(loop=self.loop))
        self.servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    def close(self, before: Callable[[], Awaitable[Any]] | None = None) -> None:
        if before is not None:
            self.run(before())
        for server in reversed(self.servers):
            self.run(server.close())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


class Failures(logging.Handler):
    """Every log record at ERROR or above, and every one that carries a traceback: an unhandled exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def summary(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()[:200]}" for r in self.records]


@contextmanager
def failures_logged() -> Iterator[Failures]:
    handler = Failures()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)

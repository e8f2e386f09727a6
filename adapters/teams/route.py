"""`POST /api/messages`: every request is checked here before botbuilder runs a turn.

botbuilder's `CloudAdapter.process` answers most bad requests with a 500 (an expired or forged token, `alg: none`, a
garbage bearer, a missing Content-Type, invalid JSON): only one exception type becomes a 401. So here, in order: with
an app id, a bearer token present (401, before the body is read); a size and time limit on the body (413, 408);
Content-Type, JSON syntax, nesting depth and the activity's shape (400); then the bearer token itself (401),
checked by botbuilder's own validation on a thread pool of its own (adapters/teams/auth.py: its key fetch blocks), and
only then the turn, through `process_activity`. A token that could not be checked in time (Microsoft's signing keys
unreachable) gets 503: the sender did nothing wrong, and may retry. Nothing logged here carries a token or a body.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

from adapters.http import read_limited
from adapters.teams import auth
from adapters.teams.auth import TokenChecker

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
CONVERSATION_ID = re.compile(r"[!-~]{1,1024}")  # e.g. a:1Xr..., 19:abc@thread.tacv2;messageid=1759881511856
MAX_DEPTH = 64  # a Teams activity nests about 6 deep (one carrying a card, 20 or so); deeper is refused
# Where replies go: a host name (or address) and port, then a printable ASCII path (a host that is not ASCII could not
# even be written into the reply's Host header).
SERVICE_URL = re.compile(r"https?://(?:[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:/[!-~]*)?")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def shape_problem(data: Any) -> str:
    """Why a parsed body is not an activity we can answer ('' if it is one)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if not isinstance(data.get("type"), str) or not data["type"]:
        return "no activity type"
    if not isinstance(data.get("serviceUrl"), str) or not SERVICE_URL.fullmatch(data["serviceUrl"]):
        return "no serviceUrl"
    conversation = data.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str) or not conversation["id"]:
        return "no conversation id"
    if not CONVERSATION_ID.fullmatch(conversation["id"]):  # (it is sent back in a header: printable ASCII only)
        return "a conversation id Teams does not use"
    if "from" in data and not isinstance(data["from"], dict):
        return "a malformed sender"
    for name, value in (("id", data.get("id")), ("replyToId", data.get("replyToId")),
                        ("from.id", (data.get("from") or {}).get("id"))):
        if value is not None and not (isinstance(value, str) and CONVERSATION_ID.fullmatch(value)):
            return f"an {name} Teams does not use"
    return ""


def lone_surrogates(text: str, data: Any) -> bool:
    """Whether the parsed body holds a lone surrogate anywhere (only a "\\ud800"-style escape in the JSON text
    makes one: no real text has one, and it could be neither stored nor sent on)."""
    if not SURROGATE_ESCAPE.search(text):
        return False
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed body nests objects or arrays more than `limit` deep (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def never() -> bool:
    return False


def teams_handler(adapter: CloudAdapter, on_turn: Callable[[TurnContext], Awaitable[None]], app_id: str,
                  tokens: TokenChecker, overloaded: Callable[[], bool] = never) -> Handler:
    """The route. `overloaded`: whether the process has too much in flight to take more on (then 503 with
    Retry-After, before the turn runs)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if app_id and not request.headers.get("Authorization", "").startswith("Bearer "):
            log.info("teams: refused a request without a bearer token")
            return web.Response(status=401, text="unauthorized")  # before reading a byte of the body
        body = await read_limited(request, MAX_BODY)
        if isinstance(body, web.Response):
            return body
        if request.content_type != "application/json":
            log.info("teams: refused a request that is not application/json")
            return web.Response(status=400, text="expected application/json")
        try:
            text = body.decode("utf-8")
            data = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):  # (RecursionError: nested past the parser's limit)
            log.info("teams: refused a request whose body is not JSON")
            return web.Response(status=400, text="malformed request")
        problem = ("nested too deeply" if too_deep(data) else shape_problem(data)
                   or ("text that is not Unicode" if lone_surrogates(text, data) else ""))
        try:
            activity = None if problem else Activity().deserialize(data)
        except Exception:
            problem = "fields of the wrong type"
        if problem or activity is None:
            log.info("teams: refused a malformed activity (%s)", problem)
            return web.Response(status=400, text="malformed activity")
        header = request.headers.get("Authorization", "")
        try:
            authenticated = await tokens.check(activity, header)
        except Exception as exc:
            if auth.keys_unreachable(exc):  # Microsoft's outage is not the sender's fault: let them retry
                log.warning("teams: could not check a token (%s; are Microsoft's signing keys reachable?)",
                            type(exc).__name__)
                return web.Response(status=503, text="try again", headers={"Retry-After": "30"})
            log.info("teams: refused a request whose token did not validate (%s)", type(exc).__name__)
            return web.Response(status=401, text="unauthorized")
        if overloaded():
            log.warning("teams: too busy to take an activity on; asked to try again")
            return web.Response(status=503, text="busy, try again", headers={"Retry-After": "30"})
        try:
            invoke = await adapter.process_activity(authenticated, activity, on_turn)
        except Exception as exc:
            log.error("teams: a turn could not be run (%s)", type(exc).__name__)
            return web.Response(status=500, text="try again")
        if invoke is not None:
            return web.json_response(invoke.body if invoke.body is not None else {}, status=int(invoke.status or 200))
        return web.Response(status=200)

    return handle

"""`POST /api/messages`: every request is checked here before botbuilder runs a turn.

botbuilder's `CloudAdapter.process` answers most bad requests with a 500 (an expired or forged token, `alg: none`, a
garbage bearer, a missing Content-Type, invalid JSON): only one exception type becomes a 401. So here, in order: a size
limit (413), Content-Type and JSON syntax and the activity's shape (400), then the bearer token (401), checked by
botbuilder's own validation but off the event loop (it fetches Microsoft's signing keys with a blocking call and no
timeout), and only then the turn, through `process_activity`. Nothing logged here carries a token or a body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult

from adapters.http import read_limited

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
AUTH_SECONDS = 20.0
SERVICE_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def shape_problem(data: Any) -> str:
    """Why a parsed body is not an activity we can answer ('' if it is one)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if not isinstance(data.get("type"), str) or not data["type"]:
        return "no activity type"
    if not isinstance(data.get("serviceUrl"), str) or not SERVICE_URL.match(data["serviceUrl"]):
        return "no serviceUrl"
    conversation = data.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str) or not conversation["id"]:
        return "no conversation id"
    if "from" in data and not isinstance(data["from"], dict):
        return "a malformed sender"
    return ""


async def authenticate(adapter: CloudAdapter, activity: Activity, header: str) -> AuthenticateRequestResult:
    """botbuilder's JWT validation (or, with no app id and no header, the Emulator's anonymous identity)."""
    auth = adapter.bot_framework_authentication
    if not header:
        return await auth.authenticate_request(activity, "")

    def validate() -> AuthenticateRequestResult:
        return asyncio.run(auth.authenticate_request(activity, header))

    return await asyncio.wait_for(asyncio.to_thread(validate), AUTH_SECONDS)


def teams_handler(adapter: CloudAdapter, on_turn: Callable[[TurnContext], Awaitable[None]], app_id: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await read_limited(request, MAX_BODY)
        if isinstance(body, web.Response):
            return body
        if request.content_type != "application/json":
            log.info("teams: refused a request that is not application/json")
            return web.Response(status=400, text="expected application/json")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            log.info("teams: refused a request whose body is not JSON")
            return web.Response(status=400, text="malformed request")
        problem = shape_problem(data)
        try:
            activity = None if problem else Activity().deserialize(data)
        except Exception:
            problem = "fields of the wrong type"
        if problem or activity is None:
            log.info("teams: refused a malformed activity (%s)", problem)
            return web.Response(status=400, text="malformed activity")
        header = request.headers.get("Authorization", "")
        if app_id and not header.startswith("Bearer "):
            log.info("teams: refused a request without a bearer token")
            return web.Response(status=401, text="unauthorized")
        try:
            authenticated = await authenticate(adapter, activity, header)
        except TimeoutError:
            log.warning("teams: could not check a token within %s s (are Microsoft's signing keys reachable?)",
                        AUTH_SECONDS)
            return web.Response(status=401, text="unauthorized")
        except Exception as exc:
            log.info("teams: refused a request whose token did not validate (%s)", type(exc).__name__)
            return web.Response(status=401, text="unauthorized")
        try:
            invoke = await adapter.process_activity(authenticated, activity, on_turn)
        except Exception as exc:
            log.error("teams: a turn could not be run (%s)", type(exc).__name__)
            return web.Response(status=500, text="try again")
        if invoke is not None:
            return web.json_response(invoke.body if invoke.body is not None else {}, status=int(invoke.status or 200))
        return web.Response(status=200)

    return handle

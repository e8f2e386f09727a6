"""A fake Bot Connector service on 127.0.0.1: records every call the bot makes and answers like Teams.

It implements what a Teams bot calls: `POST /v3/conversations` (a new channel thread or personal chat),
`POST /v3/conversations/{id}/activities[/{replyToId}]` (send, reply) and `PUT /v3/conversations/{id}/activities/{id}`
(update a card). `fail` makes it refuse calls with an HTTP status, as Teams does (403 bot not in the conversation,
404, 429 throttling).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str  # "create", "send", "reply" or "update"
    conversation: str  # the conversation id (decoded from the path); "" for create
    activity_id: str  # the replied-to or updated activity id
    body: dict[str, Any]
    status: int = 200
    given: str = ""  # the id the fake gave the new message (create: the thread's first message)
    authorization: str = ""  # the request's Authorization header ("" when the bot has no app id)

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card carried by the activity (for create: by its first activity), if any."""
        activity = self.body.get("activity", self.body) if self.method == "create" else self.body
        for attachment in activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return dict(attachment["content"])
        return None

    @property
    def text(self) -> str:
        """Everything a person would read: the text, the summary and every card text, as one string."""
        activity = self.body.get("activity", self.body) if self.method == "create" else self.body
        parts = [str(activity.get("text") or ""), str(activity.get("summary") or "")]
        parts += [t for t in _texts(self.card or {})]
        return "\n".join(p for p in parts if p)


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [str(node["text"])] if node.get("type") == "TextBlock" and "text" in node else []
        return own + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


@dataclass
class FakeConnector:
    calls: list[Call] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # conversation id (or "*", or "create") -> HTTP status
    uploads: dict[str, bytes] = field(default_factory=dict)  # file uploads received (file-consent flow)
    hang: dict[str, float] = field(default_factory=dict)  # conversation id (or "*") -> seconds before it answers
    retry_after: dict[str, str] = field(default_factory=dict)  # conversation id -> Retry-After sent with a refusal
    _next: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self.create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self.send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self.send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self.update)
        app.router.add_put("/upload/{name}", self.upload)
        return app

    async def upload(self, request: web.Request) -> web.Response:
        """Where a file-consent upload URL points (OneDrive in real Teams)."""
        self.uploads[request.match_info["name"]] = await request.read()
        return web.json_response({"id": request.match_info["name"]}, status=201)

    def new_id(self) -> str:
        self._next += 1
        return f"17000000{self._next:05d}"

    def _refused(self, key: str) -> int:
        return self.fail.get(key) or self.fail.get("*") or 0

    async def create(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        status = self._refused("create")
        call = Call("create", "", "", body, status or 200, authorization=request.headers.get("Authorization", ""))
        self.calls.append(call)
        if status:
            return _error(status)
        activity_id = call.given = self.new_id()
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        if channel:
            conversation = f"{channel};messageid={activity_id}"
        else:
            members = body.get("members") or [{}]
            conversation = f"a:personal-{members[0].get('id', 'someone')}"
        return web.json_response({"id": conversation, "activityId": activity_id}, status=201)

    async def send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        replied = request.match_info.get("activity", "")
        body = json.loads(await request.text())
        status = self._refused(conversation)
        call = Call("reply" if replied else "send", conversation, replied, body, status or 200,
                    authorization=request.headers.get("Authorization", ""))
        self.calls.append(call)
        if conversation in self.hang or "*" in self.hang:
            await asyncio.sleep(self.hang.get(conversation, self.hang.get("*", 0)))
        if status:
            return _error(status, self.retry_after.get(conversation))
        call.given = self.new_id()
        return web.json_response({"id": call.given}, status=201)

    async def update(self, request: web.Request) -> web.Response:
        conversation, activity_id = request.match_info["conversation"], request.match_info["activity"]
        body = json.loads(await request.text())
        status = self._refused(conversation)
        self.calls.append(Call("update", conversation, activity_id, body, status or 200,
                               authorization=request.headers.get("Authorization", "")))
        if status:
            return _error(status)
        return web.json_response({"id": activity_id})

    # --- what tests look at -----------------------------------------------------------------------------------
    def posted(self, conversation: str | None = None) -> list[Call]:
        """Messages delivered (sent or replied, and each new thread's first message), in order."""
        return [c for c in self.calls if c.status < 300 and c.method in ("send", "reply", "create")
                and (conversation is None or c.conversation == conversation)]

    def updates(self, conversation: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == "update" and c.status < 300
                and (conversation is None or c.conversation == conversation)]

    def everything(self) -> str:
        """Every body the bot sent, as text (to scan for what must never be sent)."""
        return json.dumps([c.body for c in self.calls], ensure_ascii=False)


def _error(status: int, retry_after: str | None = None) -> web.Response:
    codes = {403: "BotNotInConversationRoster", 404: "ConversationNotFound", 429: "TooManyRequests"}
    body = {"error": {"code": codes.get(status, "ServiceError"), "message": "refused by the fake connector"}}
    return web.json_response(body, status=status, headers={"Retry-After": retry_after} if retry_after else None)

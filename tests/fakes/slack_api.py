"""A fake Slack Web API on 127.0.0.1: records every call and answers like Slack (auth.test included)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)  # method -> Slack error code to answer with
    emails: dict[str, str] = field(default_factory=dict)  # users.lookupByEmail answers
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes received
    delay: dict[str, float] = field(default_factory=dict)  # method -> seconds to sleep before answering
    token: str = ""  # when set, a call without "Authorization: Bearer <token>" is refused, as Slack does
    broken: dict[str, int] = field(default_factory=dict)  # method -> HTTP status of a non-JSON error page
    fail_in: dict[str, str] = field(default_factory=dict)  # channel id -> error code for any call naming it
    _ts: int = 0
    _finished: dict[str, asyncio.Event] = field(default_factory=dict)

    def app(self, *routes: web.RouteDef) -> web.Application:
        """The fake's aiohttp app; `routes` (another fake's, e.g. tests/fakes/slack_socket.py) go before its own."""
        app = web.Application()
        app.add_routes(routes)
        app.router.add_post("/api/{method}", self.handle)
        app.router.add_get("/api/{method}", self.handle)  # (the SDK reads conversations.* with GET)
        app.router.add_post("/upload/{file_id}", self.receive_upload)
        return app

    async def receive_upload(self, request: web.Request) -> web.Response:
        """Where files.getUploadURLExternal sends the bytes of an upload."""
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK")

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def ts_of(self, args: dict[str, Any]) -> str:
        """The message ts the fake answered for the call with these (recorded) arguments."""
        return next(str(c.answer.get("ts", "")) for c in self.calls if c.args is args)

    def messages(self, channel: str, thread: str = "") -> list[dict[str, Any]]:
        """What conversations.history (a channel's top level) or .replies (a thread) would give, newest first, with
        each message's metadata."""
        found = []
        for call in self.calls:
            answer = call.answer
            if call.method != "chat.postMessage" or not answer.get("ok") or answer.get("channel") != channel:
                continue
            in_thread = str(call.args.get("thread_ts") or "")
            if (thread and (in_thread == thread or answer["ts"] == thread)) or (not thread and not in_thread):
                message = {"ts": answer["ts"], "text": call.args.get("text", "")}
                if isinstance(call.args.get("metadata"), dict):
                    message["metadata"] = call.args["metadata"]
                found.append(message)
        return found[::-1]

    def finished(self, method: str) -> asyncio.Event:
        """Set once a slow (delayed) call to `method` has finished sleeping and is about to be answered."""
        return self._finished.setdefault(method, asyncio.Event())

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json":
            args = json.loads(raw or "{}")
        else:
            args = {k: v[0] for k, v in parse_qs(raw).items()}
            for key in ("blocks", "view"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        args = {**{k: v for k, v in request.query.items()}, **args}  # some methods send their arguments as query
        call = Call(method, args)
        self.calls.append(call)
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "not_authed"})
        if method in self.broken:  # a proxy's or load balancer's error page, not Slack's JSON
            return web.Response(status=self.broken[method], text="<html>Bad gateway</html>",
                                content_type="text/html")
        failing = method in self.fail or str(args.get("channel", "")) in self.fail_in
        if method == "chat.postMessage" and not failing:  # (a slow post has arrived before it is answered)
            call.answer = self.answer(method, args)
        if method in self.delay:
            await asyncio.sleep(self.delay[method])
            self.finished(method).set()
        if failing:
            error = self.fail.get(method) or self.fail_in[str(args.get("channel", ""))]
            if error == "ratelimited":  # as Slack does it: HTTP 429 with Retry-After
                return web.json_response({"ok": False, "error": error}, status=429, headers={"Retry-After": "1"})
            return web.json_response({"ok": False, "error": error})
        call.answer = call.answer or self.answer(method, args)
        if method == "files.getUploadURLExternal":
            call.answer["upload_url"] = f"http://{request.host}/upload/{call.answer['file_id']}"
        return web.json_response(call.answer)

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "files.getUploadURLExternal":
            return {"ok": True, "file_id": f"F{len(self.calls):06d}"}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))[1:]}}
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "escalation-bot",
                    "team_id": "T111", "user_id": "UBOT", "bot_id": "BBOT"}
        if method in ("views.open", "views.update", "views.push"):
            return {"ok": True, "view": {**args.get("view", {}), "id": "VFAKE"}}
        if method == "chat.postMessage":
            self._ts += 1
            channel = str(args.get("channel", ""))
            if channel.startswith("U"):
                channel = "D" + channel[1:]
            return {"ok": True, "channel": channel, "ts": f"1700000000.{self._ts:06d}",
                    "message": {"text": args.get("text", "")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1700000000.999999"}
        if method in ("conversations.history", "conversations.replies"):
            # (pages of `limit`, as Slack gives them; `oldest` is not applied: the fake's ts are not times)
            found = self.messages(str(args.get("channel", "")), str(args.get("ts", "")))
            start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
            more = start + limit < len(found)
            return {"ok": True, "messages": found[start:start + limit], "has_more": more,
                    "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
        if method == "users.lookupByEmail":
            uid = self.emails.get(str(args.get("email", "")))
            return {"ok": True, "user": {"id": uid}} if uid else {"ok": False, "error": "users_not_found"}
        return {"ok": True}

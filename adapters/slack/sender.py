"""Posts into Slack threads for the outbox (nudges, case updates), mentioning whoever must act."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import views
from bot.jobs.outbox import SendError
from bot.people.directory import Directory
from bot.types import Reply, ThreadRef
from storage.common import KeyedLocks

log = logging.getLogger(__name__)
PLAIN_WORDS = {
    "ratelimited": "Slack is limiting how fast the bot can post just now",
    "channel_not_found": "the cases channel was not found (check SLACK_CASES_CHANNEL and that the bot is in it)",
    "not_in_channel": "the bot is not in the cases channel: invite it",
    "invalid_auth": "the Slack token is not valid (check SLACK_BOT_TOKEN)",
    "token_revoked": "the Slack token was revoked: reinstall the app",
    "account_inactive": "the Slack app's account is inactive: reinstall the app",
    "expired_trigger_id": "the form took too long to open",
    "connection_error": "Slack could not be reached",
}


# What a Web API call can raise: Slack's own refusal, or no answer at all (network down, DNS, timeout).
FAILURES = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError)


def error_code(exc: BaseException | str) -> str:
    """Slack's error code for a failed call ("connection_error" when Slack did not answer)."""
    if isinstance(exc, str):
        return exc
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown_error"))
    return "connection_error"


def plain_error(exc: BaseException | str) -> str:
    """Slack's error code in words a user can act on."""
    code = error_code(exc)
    return PLAIN_WORDS.get(code, f"Slack refused the message ({code})")


class CaseThreads(Protocol):
    """What the sender needs of the engine to start a case's thread (bot.conversation.engine.Engine is one)."""

    async def case_thread(self, ref: str) -> ThreadRef | None: ...

    async def root(self, ref: str) -> Reply: ...

    async def set_thread(self, ref: str, thread: ThreadRef) -> None: ...

    async def threads_not_started(self, channel: str) -> list[tuple[str, ThreadRef]]: ...


class SlackSender:
    """Web API calls for the bot: case messages (each in its case's thread), modals, private files, updates.

    A case's thread starts with its root message. If that post fails when the case opens, the case keeps its channel
    without a thread; `rooted` posts the root before the next message about the case, and `flush` (each scheduler
    pass) tries again for the roots that failed in this process, so nudges never land at the channel's top level.
    """

    def __init__(self, client: AsyncWebClient, directory: Callable[[], Directory],
                 cases: Callable[[], CaseThreads] | None = None) -> None:
        self.client = client
        self.directory = directory
        self.cases = cases
        self._ids: dict[str, str] = {}
        self._rooting = KeyedLocks()  # one per case while a root is being started
        self._unrooted: dict[str, ThreadRef] = {}  # case ref -> the thread its root failed to start
        self._looked = False  # whether the store was asked once for threads left unstarted before a restart

    async def rooted(self, ref: str, thread: ThreadRef) -> ThreadRef:
        """The case's thread, its root message posted first if that has not reached Slack yet. Raises SendError.

        One root per case: concurrent callers wait for each other and read the case's thread again first.
        """
        if self.cases is None:
            return thread
        async with self._rooting(ref):
            cases = self.cases()
            current = await cases.case_thread(ref) or thread
            if current.thread or current.channel != "slack":
                self._unrooted.pop(ref, None)
                return current
            try:
                ts, channel = await self.post(ThreadRef("slack", current.conversation), await cases.root(ref))
            except SendError:
                self._unrooted[ref] = current
                raise
            started = ThreadRef("slack", channel, ts)
            await cases.set_thread(ref, started)
            self._unrooted.pop(ref, None)
        return started

    async def flush(self) -> None:
        """Try again to start the threads whose root message failed (called by each scheduler pass); the first pass
        after a start also finds those a restart forgot. It stops at the first failure: Slack is likely down, and
        the pass's nudges must not wait behind one timeout per case."""
        if not self._looked and self.cases is not None:
            self._looked = True
            for ref, thread in await self.cases().threads_not_started("slack"):
                self._unrooted.setdefault(ref, thread)
        for ref, thread in list(self._unrooted.items()):
            try:
                await self.rooted(ref, thread)
            except SendError:
                break  # logged by post; tried again at the next pass
            except KeyError:
                self._unrooted.pop(ref, None)  # the case is gone (purged)
                continue
            log.info("case %s: its Slack thread is started", ref)

    async def user_id(self, email: str) -> str | None:
        """A directory email's Slack user id: from the directory, else users.lookupByEmail (cached)."""
        person = self.directory().find(email)
        if person is not None and person.slack_id:
            return person.slack_id
        if email not in self._ids:
            try:
                found = await self.client.users_lookupByEmail(email=email)
            except FAILURES:
                return None
            self._ids[email] = str((found.get("user") or {}).get("id", ""))
        return self._ids[email] or None

    async def open_view(self, trigger_id: str, view: dict[str, Any] | str) -> str | None:
        """views.open of a view (a dict, or already JSON); None once opened, else Slack's error code (logged here).

        This is the one Web API call on /escalate's hot path, so it goes straight through the client's shared HTTP
        session (set when the server starts): the SDK's own call costs about an eighth of the command's CPU
        (`make bench`). There is no retry: a trigger id expires 3 seconds after the click.
        """
        session = self.client.session
        if session is None:  # outside the server (no shared session yet): the SDK's own call
            try:
                await self.client.views_open(trigger_id=trigger_id, view=json.loads(view) if isinstance(view, str)
                                             else view)
                return None
            except FAILURES as exc:
                return self._failed("views.open", error_code(exc))
        view_json = view if isinstance(view, str) else json.dumps(view, separators=(",", ":"))
        body = f'{{"trigger_id":{json.dumps(trigger_id)},"view":{view_json}}}'
        headers = {"Authorization": f"Bearer {self.client.token}", "Content-Type": "application/json; charset=utf-8"}
        try:
            async with session.post(f"{self.client.base_url}views.open", data=body.encode(), headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=10), proxy=self.client.proxy or None,
                                    ssl=self.client.ssl if self.client.ssl is not None else True) as response:
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError):
            return self._failed("views.open", "connection_error")
        except ValueError:  # not JSON: a proxy's or load balancer's error page
            return self._failed("views.open", f"http_{response.status}")
        if isinstance(answer, dict) and answer.get("ok") is True:
            return None
        error = answer.get("error") if isinstance(answer, dict) else None
        return self._failed("views.open", str(error or f"http_{response.status}"))

    @staticmethod
    def _failed(method: str, code: str) -> str:
        log.warning("Slack %s failed: %s", method, code)
        return code

    async def post(self, thread: ThreadRef, reply: Reply) -> tuple[str, str]:
        """Post a message (into the thread when it has one); returns (ts, channel). Raises SendError."""
        mentions = [uid for uid in [await self.user_id(e) for e in reply.mentions] if uid]
        text, blocks = views.message_blocks(reply, mentions)
        try:
            result = await self.client.chat_postMessage(channel=thread.conversation, text=text, blocks=blocks,
                                                        thread_ts=thread.thread or None, unfurl_links=False)
        except FAILURES as exc:
            log.warning("Slack post failed: %s", error_code(exc))
            raise SendError(plain_error(exc)) from None
        return str(result.get("ts", "")), str(result.get("channel", thread.conversation))

    async def send(self, thread: ThreadRef, reply: Reply) -> None:
        """The outbox's delivery: a case message goes into its case's thread (started first if need be)."""
        if reply.case_ref and not thread.thread:
            thread = await self.rooted(reply.case_ref, thread)
        if reply.attachment is not None and not reply.private:
            await self.upload(thread.conversation, reply, thread.thread)
        else:
            await self.post(thread, reply)

    async def upload(self, channel: str, reply: Reply, thread_ts: str = "") -> None:
        """A reply with its file (the summary chart) into a channel; the text alone if the upload fails."""
        assert reply.attachment is not None
        try:
            await self.client.files_upload_v2(channel=channel, content=reply.attachment.data,
                                              filename=reply.attachment.name, title=reply.attachment.name,
                                              initial_comment=views.escape(reply.text), thread_ts=thread_ts or None)
        except FAILURES as exc:
            log.warning("Slack file upload failed: %s; posting the text alone", error_code(exc))
            await self.post(ThreadRef("slack", channel, thread_ts), Reply(reply.text, kind=reply.kind))

    async def send_private(self, user_id: str, reply: Reply) -> bool:
        """A written record, to one person only: a direct message with the file. Never to a channel."""
        assert reply.attachment is not None
        try:
            opened = await self.client.conversations_open(users=user_id)
            channel = str((opened.get("channel") or {}).get("id", ""))
            if not channel.startswith("D"):
                log.warning("Slack did not give a direct message for a private file; not sent")
                return False
            await self.client.files_upload_v2(channel=channel, content=reply.attachment.data,
                                              filename=reply.attachment.name, title=reply.attachment.name,
                                              initial_comment="Your copy of the written record (keep it on the "
                                                              "child's record; do not share it in a channel).")
        except FAILURES as exc:
            log.warning("Slack private file failed: %s", error_code(exc))
            return False
        return True

    async def update(self, channel: str, ts: str, original: str, note: str) -> None:
        """Show on a nudge who did what, and take its buttons away."""
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=f"{original}\n{note}",
                                          blocks=views.done_blocks(original, note))
        except FAILURES as exc:
            log.warning("Slack update failed: %s", error_code(exc))

"""Web API calls for the bot: posting into threads for the core (case threads, reminders, the weekly summary),
answering a person privately, opening modals, private files and updating a message after someone acted on it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import views
from bot.door import Mention, Reply, SendError, ThreadRef

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
KNOWN_IDS = 10_000  # emails looked up by users.lookupByEmail, kept (most recent first)
CANNOT_LOOK = ("missing_scope", "not_allowed_token_type", "channel_not_found", "not_in_channel")
FIND_PAGES = 10  # pages of 200 messages read, at most, looking for a post that timed out
METADATA_TYPE = "escalation_bot_message"  # every message posted carries its outbox key in metadata of this type


def error_code(exc: BaseException | str) -> str:
    """Slack's error code for a failed call ("connection_error" when Slack did not answer)."""
    if isinstance(exc, str):
        return exc
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        if isinstance(data, dict):
            return str(data.get("error", "unknown_error"))
        return f"http_{getattr(exc.response, 'status_code', 0)}"  # (not Slack's JSON: a proxy's page, say)
    return "connection_error"


def send_error(exc: BaseException) -> SendError:
    """A failed Web API call as the outbox needs it: in words, with how long Slack asked to wait, and whether the
    message may have arrived all the same (the call timed out or the connection broke after it was sent)."""
    retry_after = None
    if isinstance(exc, SlackApiError):
        headers = getattr(exc.response, "headers", None) or {}
        header = headers.get("Retry-After") or headers.get("retry-after")
        header = header[0] if isinstance(header, list) and header else header
        retry_after = float(header) if isinstance(header, str) and header.isdigit() else None
    unknown = isinstance(exc, asyncio.TimeoutError | aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError)
    return SendError(plain_error(exc), retry_after=retry_after, unknown=unknown, channel="slack")


def plain_error(exc: BaseException | str) -> str:
    """Slack's error code in words a user can act on."""
    code = error_code(exc)
    return PLAIN_WORDS.get(code, f"Slack refused the message ({code})")


class SlackSender:
    """The channel's Sender for the core (`post`), and the other Web API calls its listeners make."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._ids: OrderedDict[str, str] = OrderedDict()

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "") -> ThreadRef:
        """Post into the thread (or at the top of its conversation, starting a thread); where replies go next. The
        message carries `key` in its metadata, so `find` can tell whether a post that timed out arrived."""
        if reply.attachment is not None and not reply.private:
            await self.upload(thread.conversation, reply, thread.thread)
            return thread
        mentions = [uid for uid in [await self.user_id(m) for m in reply.mentions] if uid]
        text, blocks = views.message_blocks(reply, mentions)
        metadata = {"event_type": METADATA_TYPE, "event_payload": {"key": key}} if key else None
        try:
            result = await self.client.chat_postMessage(channel=thread.conversation, text=text, blocks=blocks,
                                                        thread_ts=thread.thread or None, unfurl_links=False,
                                                        metadata=metadata)
        except FAILURES as exc:
            log.warning("Slack post failed: %s", error_code(exc))
            raise send_error(exc) from None
        channel = str(result.get("channel") or thread.conversation)
        return ThreadRef("slack", channel, thread.thread or str(result.get("ts", "")))

    async def find(self, thread: ThreadRef, key: str, root: bool, since: datetime | None = None) -> ThreadRef | None:
        """Where the message posted with `key` landed, if it did: the messages of its conversation (a root) or
        thread since it was first tried (`since`, less a minute for clocks; else the latest), read with their
        metadata, page by page (at most FIND_PAGES). Raises SendError if Slack cannot be asked (it limits these
        reads)."""
        try:
            channel = thread.conversation
            if not channel.startswith(("C", "G", "D")):  # a person: their direct message with the bot
                opened = await self.client.conversations_open(users=channel)
                channel = str((opened.get("channel") or {}).get("id", channel))
            oldest = f"{since.timestamp() - 60:.6f}" if since is not None else None
            cursor = None
            for _ in range(FIND_PAGES):
                if root or not thread.thread:
                    found = await self.client.conversations_history(
                        channel=channel, limit=200, include_all_metadata=True, cursor=cursor, oldest=oldest)
                else:
                    found = await self.client.conversations_replies(
                        channel=channel, ts=thread.thread, limit=200, include_all_metadata=True, cursor=cursor,
                        oldest=oldest)
                for message in found.get("messages") or []:
                    meta = message.get("metadata") or {}
                    if meta.get("event_type") == METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == key:
                        return ThreadRef("slack", channel, thread.thread or str(message.get("ts", "")))
                cursor = ((found.get("response_metadata") or {}).get("next_cursor")) or None
                if not cursor or not oldest:
                    break
        except FAILURES as exc:
            log.warning("Slack lookup of a message failed: %s", error_code(exc))
            if error_code(exc) in CANNOT_LOOK:
                return None  # (the app may not read there: posted again, rather than never)
            raise send_error(exc) from None
        return None

    async def user_id(self, person: Mention) -> str | None:
        """A person's Slack user id: from the directory, else users.lookupByEmail (kept for the next time)."""
        if person.on("slack"):
            return person.on("slack")
        if person.email not in self._ids:
            try:
                found = await self.client.users_lookupByEmail(email=person.email)
            except FAILURES:
                return None
            self._ids[person.email] = str((found.get("user") or {}).get("id", ""))
            while len(self._ids) > KNOWN_IDS:
                self._ids.popitem(last=False)
        self._ids.move_to_end(person.email)
        return self._ids[person.email] or None

    async def tell(self, user_id: str, channel: str, text: str) -> bool:
        """A private answer: ephemeral in the channel where asked, else (or if Slack refuses that, e.g. the bot is
        not in that channel) a direct message. False if Slack took neither (logged)."""
        if not user_id:
            return True  # (another bot, or a payload without a user: nobody to answer)
        if channel and not channel.startswith("D"):
            try:
                await self.client.chat_postEphemeral(channel=channel, user=user_id, text=views.escape(text))
                return True
            except FAILURES as exc:
                log.info("no ephemeral answer in that channel (%s); answering by direct message", error_code(exc))
        try:
            await self.client.chat_postMessage(channel=user_id, text=views.escape(text))
        except FAILURES as exc:
            log.warning("could not answer a Slack user privately: %s", error_code(exc))
            return False
        return True

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

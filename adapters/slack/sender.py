"""Posts into Slack threads for the outbox (nudges, case updates), mentioning whoever must act."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import views
from bot.directory import Directory
from bot.notify import SendError
from bot.types import Reply, ThreadRef

log = logging.getLogger(__name__)
PLAIN_WORDS = {
    "ratelimited": "Slack is limiting how fast the bot can post; it will try again shortly",
    "channel_not_found": "the cases channel was not found (check SLACK_CASES_CHANNEL and that the bot is in it)",
    "not_in_channel": "the bot is not in the cases channel: invite it",
    "invalid_auth": "the Slack token is not valid (check SLACK_BOT_TOKEN)",
    "token_revoked": "the Slack token was revoked: reinstall the app",
    "account_inactive": "the Slack app's account is inactive: reinstall the app",
}


def plain_error(exc: SlackApiError) -> str:
    code = str(exc.response.get("error", "unknown_error"))
    return PLAIN_WORDS.get(code, f"Slack refused the message ({code})")


class SlackSender:
    def __init__(self, client: AsyncWebClient, directory: Callable[[], Directory]) -> None:
        self.client = client
        self.directory = directory
        self._ids: dict[str, str] = {}

    async def user_id(self, email: str) -> str | None:
        """A directory email's Slack user id: from the directory, else users.lookupByEmail (cached)."""
        person = self.directory().find(email)
        if person is not None and person.slack_id:
            return person.slack_id
        if email not in self._ids:
            try:
                found = await self.client.users_lookupByEmail(email=email)
            except SlackApiError:
                return None
            self._ids[email] = str((found.get("user") or {}).get("id", ""))
        return self._ids[email] or None

    async def post(self, thread: ThreadRef, reply: Reply) -> tuple[str, str]:
        """Post a message (into the thread when it has one); returns (ts, channel). Raises SendError."""
        mentions = [uid for uid in [await self.user_id(e) for e in reply.mentions] if uid]
        text, blocks = views.message_blocks(reply, mentions)
        try:
            result = await self.client.chat_postMessage(channel=thread.conversation, text=text, blocks=blocks,
                                                        thread_ts=thread.thread or None, unfurl_links=False)
        except SlackApiError as exc:
            log.warning("Slack post failed: %s", exc.response.get("error"))
            raise SendError(plain_error(exc)) from None
        return str(result.get("ts", "")), str(result.get("channel", thread.conversation))

    async def send(self, thread: ThreadRef, reply: Reply) -> None:
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
        except SlackApiError as exc:
            log.warning("Slack file upload failed: %s; posting the text alone", exc.response.get("error"))
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
        except SlackApiError as exc:
            log.warning("Slack private file failed: %s", exc.response.get("error"))
            return False
        return True

    async def update(self, channel: str, ts: str, original: str, note: str) -> None:
        """Show on a nudge who did what, and take its buttons away."""
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=f"{original}\n{note}",
                                          blocks=views.done_blocks(original, note))
        except SlackApiError as exc:
            log.warning("Slack update failed: %s", exc.response.get("error"))

"""Posts into Teams proactively for the core (case threads, reminders, case changes), mentioning whoever must act.

Every post goes through `continue_conversation` (or `create_conversation` for a new thread or chat) on a stored
ConversationReference, to that conversation's serviceUrl. botbuilder hands an exception raised inside the callback to
`on_turn_error` and carries on, so the callback keeps the outcome and it is raised here, as SendError, for the core to
try again later.
"""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)

from adapters.teams.activities import http_status, reply_activity, send_error
from adapters.teams.references import THREAD_MARK, References, is_personal, tenant_of
from bot.door import ChannelState, Reply, SendError, ThreadRef

log = logging.getLogger(__name__)
MESSAGES = "messages"  # key: "<conversation>|<activity id>" -> a sent case message with buttons


def is_channel(conversation: str) -> bool:
    """A Teams channel itself (a new thread starts there), not a thread in it nor a chat."""
    return conversation.startswith("19:") and "@thread" in conversation and THREAD_MARK not in conversation


class TeamsSender:
    def __init__(self, adapter: CloudAdapter, app_id: str, refs: References, state: ChannelState) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.refs = refs
        self.state = state

    # --- the core's Sender ------------------------------------------------------------------------------------
    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "") -> ThreadRef:
        """Into a conversation (a new thread when it is a channel); where replies go next. (The Bot Connector has no
        way to look a message up, so `key` is not used: a post that timed out after reaching Teams is posted again.)"""
        if is_channel(thread.conversation):
            return ThreadRef("teams", await self.start_thread(thread.conversation, reply, via))
        reference = await self.refs.get(thread.conversation)
        if reference is None:
            raise SendError("the bot has no stored Teams conversation for this thread (add the bot there first)")
        await self.post_reply(reference, reply)
        return ThreadRef("teams", thread.conversation)

    async def post_reply(self, reference: ConversationReference, reply: Reply) -> str:
        """Send a message into a conversation (mentioning whoever must act, where it is shared); the new activity's id.
        Raises SendError."""
        activity = reply_activity(reply, () if is_personal(reference) else self.mentions(reply))
        sent = await self.post_activity(reference, activity)
        await self.remember(str(reference.conversation.id), sent, reply)
        return sent

    async def post_activity(self, reference: ConversationReference, activity: Activity) -> str:
        outcome: dict[str, Any] = {}

        async def deliver(context: TurnContext) -> None:
            try:
                response = await context.send_activity(activity)
                outcome["id"] = str(getattr(response, "id", "") or "")
            except Exception as exc:
                outcome["error"] = exc

        try:
            await self.adapter.continue_conversation(reference, deliver, self.app_id)
        except Exception as exc:  # e.g. no credentials for that service
            outcome["error"] = exc
        self._raise(outcome, "post")
        return str(outcome.get("id", ""))

    # --- new conversations ------------------------------------------------------------------------------------
    async def start_thread(self, channel_id: str, reply: Reply, via: ThreadRef | None) -> str:
        """Post `reply` as a new thread in a Teams channel; the thread's id `<channel>;messageid=<root>`. The
        connection details (service URL, tenant, the bot's account) come from the channel's stored reference, else
        from the conversation `via` (where the case was opened)."""
        base = await self.refs.get(channel_id) or (await self.refs.get(via.conversation) if via else None)
        if base is None:
            raise SendError("the bot has not been in the cases channel or the case's conversation yet")
        tenant = base.conversation.tenant_id if base.conversation is not None else None
        params = ConversationParameters(is_group=True, bot=base.bot, tenant_id=tenant,
                                        channel_data={"channel": {"id": channel_id}},
                                        activity=reply_activity(reply, self.mentions(reply)))
        created = await self._create(base.service_url, params)
        root = str(created.activity.id or "")
        made = str(created.activity.conversation.id or "")
        thread = made if THREAD_MARK in made else f"{channel_id}{THREAD_MARK}{root}"
        reference = _reference(created, base)
        reference.conversation = ConversationAccount(id=thread, is_group=True, conversation_type="channel",
                                                     tenant_id=tenant)
        await self.refs.save(reference)
        await self.remember(thread, root, reply)
        return thread

    async def open_personal(self, origin: Activity) -> ConversationReference:
        """The personal chat with the sender of `origin`: the stored one, else a new one (app must be installed).
        Raises SendError if `origin` names no sender."""
        user = origin.from_property
        if user is None or not user.id:
            raise SendError("the message did not say who sent it")
        held = await self.refs.personal(str(user.id))
        if held is not None:
            return held
        base = TurnContext.get_conversation_reference(origin)
        tenant = tenant_of(origin)
        params = ConversationParameters(is_group=False, bot=base.bot, members=[ChannelAccount(id=user.id)],
                                        tenant_id=tenant, channel_data={"tenant": {"id": tenant}} if tenant else None)
        created = await self._create(origin.service_url, params)
        reference = _reference(created, base)
        reference.user = ChannelAccount(id=user.id, name=user.name)
        reference.conversation = ConversationAccount(id=str(created.activity.conversation.id),
                                                     conversation_type="personal", tenant_id=tenant)
        await self.refs.save(reference)
        return reference

    async def _create(self, service_url: str, params: ConversationParameters) -> TurnContext:
        made: dict[str, Any] = {}

        async def keep(context: TurnContext) -> None:
            made["context"] = context

        try:
            await self.adapter.create_conversation(self.app_id, keep, params, "msteams", service_url)
        except Exception as exc:
            self._raise({"error": exc}, "create")
        if "context" not in made:
            raise SendError("Teams did not create the conversation")
        context: TurnContext = made["context"]
        return context

    # --- helpers ----------------------------------------------------------------------------------------------
    @staticmethod
    def mentions(reply: Reply) -> list[tuple[str, str]]:
        """(Teams id, name) of each person the reply addresses, where the directory gives their Teams id."""
        return [(m.on("teams"), m.name) for m in reply.mentions if m.on("teams")]

    async def remember(self, conversation: str, activity_id: str, reply: Reply) -> None:
        """Keep a case message with buttons, to show on it later who acted (its card is rebuilt from this)."""
        if reply.actions and reply.case_ref and activity_id:
            await self.state.put(MESSAGES, f"{conversation}|{activity_id}", {"text": reply.text, "ref": reply.case_ref})

    async def sent_text(self, conversation: str, activity_id: str) -> str | None:
        held = await self.state.get(MESSAGES, f"{conversation}|{activity_id}")
        return str(held["text"]) if held else None

    def _raise(self, outcome: dict[str, Any], what: str) -> None:
        error = outcome.get("error")
        if error is None:
            return
        failed = send_error(error)
        if failed is None:
            raise error
        log.warning("teams: %s failed: %s (HTTP %s)", what, failed, http_status(error) or "-")
        raise failed from None


def _reference(created: TurnContext, base: ConversationReference) -> ConversationReference:
    """A reference to a conversation the bot just created (its conversation is set by the caller)."""
    reference = TurnContext.get_conversation_reference(created.activity)
    reference.activity_id = None
    reference.bot = base.bot
    reference.service_url = base.service_url
    reference.channel_id = "msteams"
    return reference

"""Posts into Teams proactively (nudges, case updates, new case threads), mentioning whoever must act.

Every post goes through `continue_conversation` (or `create_conversation` for a new thread or chat) on a stored
ConversationReference, to that conversation's serviceUrl. botbuilder hands an exception raised inside the callback to
`on_turn_error` and carries on, so the callback keeps the outcome and it is raised here, as SendError, for the
scheduler to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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

from adapters.teams.activities import connector_problem, http_status, reply_activity
from adapters.teams.references import THREAD_MARK, References, is_personal, tenant_of
from bot.conversation.engine import Engine
from bot.jobs.outbox import SendError
from bot.types import Reply, ThreadRef

log = logging.getLogger(__name__)
MESSAGES = "teams_messages"  # key: "<conversation>|<activity id>" -> a sent case message with buttons
MENTION_KINDS = ("root", "escalate", "extend")  # case messages that name who must act next


class TeamsSender:
    def __init__(self, adapter: CloudAdapter, app_id: str, refs: References, engine: Callable[[], Engine]) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.refs = refs
        self.engine = engine

    # --- the outbox's Sender ----------------------------------------------------------------------------------
    async def send(self, thread: ThreadRef, reply: Reply) -> None:
        reference = await self.refs.get(thread.conversation)
        if reference is None:
            raise SendError("the bot has no stored Teams conversation for this thread (add the bot there first)")
        await self.post(reference, reply)

    async def post(self, reference: ConversationReference, reply: Reply) -> str:
        """Send a case message into a conversation; returns the new activity id. Raises SendError."""
        group = not is_personal(reference)
        activity = reply_activity(reply, await self.mentions(reply) if group else ())
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
    async def start_thread(self, origin: Activity, channel_id: str, reply: Reply) -> str:
        """Post `reply` as a new thread in a Teams channel; returns the thread's id `<channel>;messageid=<root>`."""
        activity = reply_activity(reply, await self.mentions(reply))
        params = ConversationParameters(is_group=True, bot=_bot(origin), tenant_id=tenant_of(origin),
                                        channel_data={"channel": {"id": channel_id}}, activity=activity)
        created = await self._create(origin, params)
        root = str(created.activity.id or "")
        made = str(created.activity.conversation.id or "")
        thread = made if THREAD_MARK in made else f"{channel_id}{THREAD_MARK}{root}"
        reference = _reference(created, origin)
        reference.conversation = ConversationAccount(id=thread, is_group=True, conversation_type="channel",
                                                     tenant_id=tenant_of(origin))
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
        tenant = tenant_of(origin)
        params = ConversationParameters(is_group=False, bot=_bot(origin), members=[ChannelAccount(id=user.id)],
                                        tenant_id=tenant, channel_data={"tenant": {"id": tenant}} if tenant else None)
        created = await self._create(origin, params)
        reference = _reference(created, origin)
        reference.user = ChannelAccount(id=user.id, name=user.name)
        reference.conversation = ConversationAccount(id=str(created.activity.conversation.id),
                                                     conversation_type="personal", tenant_id=tenant)
        await self.refs.save(reference)
        return reference

    async def _create(self, origin: Activity, params: ConversationParameters) -> TurnContext:
        made: dict[str, Any] = {}

        async def keep(context: TurnContext) -> None:
            made["context"] = context

        try:
            await self.adapter.create_conversation(self.app_id, keep, params, "msteams", origin.service_url)
        except Exception as exc:
            self._raise({"error": exc}, "create")
        if "context" not in made:
            raise SendError("Teams did not create the conversation")
        context: TurnContext = made["context"]
        return context

    # --- helpers ----------------------------------------------------------------------------------------------
    async def mentions(self, reply: Reply) -> list[tuple[str, str]]:
        """(Teams id, name) of each person to mention: the reply's, or whoever must act after a case change."""
        emails = reply.mentions or await self._addressees(reply)
        engine = self.engine()
        people = [engine.directory.find(e) for e in emails]
        return [(p.teams_id, p.name) for p in people if p is not None and p.teams_id]

    async def _addressees(self, reply: Reply) -> tuple[str, ...]:
        if reply.kind not in MENTION_KINDS or not reply.case_ref:
            return ()
        engine = self.engine()
        case = await engine.store.get("cases", reply.case_ref)
        policy = engine.policies.get(case["policy"]) if case else None
        if case is None or policy is None or case.get("status") != "open":
            return ()
        _names, emails, _next = await engine.desk.addressees(policy, case)
        return tuple(emails)

    async def remember(self, conversation: str, activity_id: str, reply: Reply) -> None:
        """Keep a case message with buttons, to show on it later who acted (its card is rebuilt from this)."""
        if reply.actions and reply.case_ref and activity_id:
            await self.engine().store.put(MESSAGES, f"{conversation}|{activity_id}",
                                          {"text": reply.text, "ref": reply.case_ref})

    async def sent_text(self, conversation: str, activity_id: str) -> str | None:
        held = await self.engine().store.get(MESSAGES, f"{conversation}|{activity_id}")
        return str(held["text"]) if held else None

    def _raise(self, outcome: dict[str, Any], what: str) -> None:
        error = outcome.get("error")
        if error is None:
            return
        problem = connector_problem(error)
        if problem is None:
            raise error
        log.warning("teams: %s failed: %s (HTTP %s)", what, problem, http_status(error) or "-")
        raise SendError(problem) from None


def _bot(origin: Activity) -> ChannelAccount:
    bot = origin.recipient
    return ChannelAccount(id=bot.id, name=bot.name) if bot is not None else ChannelAccount()


def _reference(created: TurnContext, origin: Activity) -> ConversationReference:
    """A reference to a conversation the bot just created (its conversation is set by the caller)."""
    reference = TurnContext.get_conversation_reference(created.activity)
    reference.activity_id = None
    reference.bot = _bot(origin)
    reference.service_url = origin.service_url
    reference.channel_id = "msteams"
    return reference

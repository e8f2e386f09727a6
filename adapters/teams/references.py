"""Stored conversation references: every chat, channel and thread the bot has met, so it can post there later."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationAccount, ConversationReference

from storage.base import Store

REFS = "teams_refs"  # key: conversation id -> a serialised ConversationReference
USERS = "teams_users"  # key: Teams user id -> {"conversation": the personal chat's id}
THREAD_MARK = ";messageid="


def conversation_type(activity: Activity) -> str:
    """"personal", "channel" or "groupChat" (the Emulator sends none: a personal chat)."""
    conversation = activity.conversation
    kind = getattr(conversation, "conversation_type", None) if conversation else None
    return str(kind or "personal")


def tenant_of(activity: Activity) -> str | None:
    conversation = activity.conversation
    if conversation is not None and conversation.tenant_id:
        return str(conversation.tenant_id)
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    return str(tenant["id"]) if tenant and tenant.get("id") else None


class References:
    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store

    async def remember(self, activity: Activity) -> None:
        """Store the reference of the activity's conversation when it is new (or its serviceUrl moved)."""
        if activity.conversation is None or not activity.conversation.id or not activity.service_url:
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        key = str(activity.conversation.id)
        held = await self._store().get(REFS, key)
        if held is None or held.get("serviceUrl") != activity.service_url:
            await self._store().put(REFS, key, reference.serialize())
        channel, mark, _root = key.partition(THREAD_MARK)
        if mark and await self._store().get(REFS, channel) is None:  # a thread: its channel too, for new threads
            reference.conversation = ConversationAccount(id=channel, is_group=True, conversation_type="channel",
                                                         tenant_id=reference.conversation.tenant_id)
            await self._store().put(REFS, channel, reference.serialize())
        user = activity.from_property
        if conversation_type(activity) == "personal" and user is not None and user.id:
            mine = await self._store().get(USERS, str(user.id))
            if mine is None or mine.get("conversation") != key:
                await self._store().put(USERS, str(user.id), {"conversation": key})

    async def save(self, reference: ConversationReference) -> None:
        await self._store().put(REFS, str(reference.conversation.id), reference.serialize())

    async def get(self, conversation_id: str) -> ConversationReference | None:
        """The reference for a conversation; for a channel thread never met, the channel's, re-addressed."""
        held = await self._store().get(REFS, conversation_id)
        if held is not None:
            return _load(held)
        channel, mark, _root = conversation_id.partition(THREAD_MARK)
        base = await self._store().get(REFS, channel) if mark else None
        if base is None:
            return None
        reference = _load(base)
        reference.conversation = ConversationAccount(id=conversation_id, is_group=True, conversation_type="channel",
                                                     tenant_id=reference.conversation.tenant_id)
        return reference

    async def personal(self, user_id: str) -> ConversationReference | None:
        """The personal chat the bot has with this user, if it has met them there."""
        mine = await self._store().get(USERS, user_id)
        return await self.get(str(mine["conversation"])) if mine else None


def _load(data: dict[str, Any]) -> ConversationReference:
    return ConversationReference().deserialize(data)

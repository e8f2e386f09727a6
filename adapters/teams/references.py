"""Stored conversation references: every chat, channel and thread the bot has met, so it can post there later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationAccount, ConversationReference

from bot.door import ChannelState

REFS = "refs"  # key: conversation id -> a serialised ConversationReference
USERS = "users"  # key: Teams user id -> {"conversation": the personal chat's id}
THREAD_MARK = ";messageid="
KINDS = ("personal", "channel", "groupChat")


def conversation_type(activity: Activity) -> str:
    """"personal", "channel" or "groupChat": the activity's own conversationType when it gives one Teams uses, else
    judged from where it came from (see `kind_of`)."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return kind_of(activity.conversation, data, str(activity.channel_id or ""))


def kind_of(conversation: ConversationAccount | None, channel_data: Mapping[str, Any] | None = None,
            channel_id: str = "") -> str:
    """A conversation's type. Teams leaves conversationType out of some payloads (both channel examples in Microsoft's
    docs have none), so without it: a channel if the channel data names a channel or team, or the id is a channel
    thread (`19:...;messageid=...`); a personal chat only for a Teams personal chat id (`a:...`) that is not a group,
    or a one-to-one Bot Framework Emulator chat; anything else (`19:...@thread...` group chats among them) is shared,
    so never "personal". A `19:` id is never a personal chat, whatever the payload claims."""
    declared = getattr(conversation, "conversation_type", None) if conversation is not None else None
    conversation_id = str(getattr(conversation, "id", "") or "")
    shared = conversation_id.startswith("19:") or "@thread" in conversation_id or THREAD_MARK in conversation_id
    if declared in KINDS and not (declared == "personal" and shared):
        return str(declared)
    data = channel_data or {}
    if any(isinstance(data.get(k), dict) for k in ("channel", "team")) or data.get("teamsChannelId") \
            or THREAD_MARK in conversation_id:
        return "channel"
    if getattr(conversation, "is_group", None) is True:
        return "groupChat"
    if not shared and (conversation_id.startswith("a:") or channel_id == "emulator"):
        return "personal"
    return "groupChat"


def is_personal(reference: ConversationReference) -> bool:
    """Whether a stored reference is a personal chat (references stored before conversationType was judged from the
    id may say nothing, or be wrong)."""
    return kind_of(reference.conversation, None, str(reference.channel_id or "")) == "personal"


def tenant_of(activity: Activity) -> str | None:
    conversation = activity.conversation
    if conversation is not None and conversation.tenant_id:
        return str(conversation.tenant_id)
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    return str(tenant["id"]) if tenant and tenant.get("id") else None


class References:
    """Kept in the channel's own state (bot.door.ChannelState), never in the core's collections."""

    def __init__(self, state: ChannelState) -> None:
        self._state = state

    async def remember(self, activity: Activity) -> None:
        """Store the reference of the activity's conversation when it is new (or its serviceUrl moved)."""
        if activity.conversation is None or not activity.conversation.id or not activity.service_url:
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        if reference.conversation is not None and not reference.conversation.tenant_id:
            reference.conversation.tenant_id = tenant_of(activity)  # (so a thread made from it later has its tenant)
        key = str(activity.conversation.id)
        held = await self._state.get(REFS, key)
        if held is None or held.get("serviceUrl") != activity.service_url:
            await self._state.put(REFS, key, reference.serialize())
        channel, mark, _root = key.partition(THREAD_MARK)
        if mark and await self._state.get(REFS, channel) is None:  # a thread: its channel too, for new threads
            reference.conversation = ConversationAccount(id=channel, is_group=True, conversation_type="channel",
                                                         tenant_id=reference.conversation.tenant_id)
            await self._state.put(REFS, channel, reference.serialize())
        user = activity.from_property
        if conversation_type(activity) == "personal" and user is not None and user.id:
            mine = await self._state.get(USERS, str(user.id))
            if mine is None or mine.get("conversation") != key:
                await self._state.put(USERS, str(user.id), {"conversation": key})

    async def save(self, reference: ConversationReference) -> None:
        await self._state.put(REFS, str(reference.conversation.id), reference.serialize())

    async def get(self, conversation_id: str) -> ConversationReference | None:
        """The reference for a conversation; for a channel thread never met, the channel's, re-addressed."""
        held = await self._state.get(REFS, conversation_id)
        if held is not None:
            return _load(held)
        channel, mark, _root = conversation_id.partition(THREAD_MARK)
        base = await self._state.get(REFS, channel) if mark else None
        if base is None:
            return None
        reference = _load(base)
        reference.conversation = ConversationAccount(id=conversation_id, is_group=True, conversation_type="channel",
                                                     tenant_id=reference.conversation.tenant_id)
        return reference

    async def personal(self, user_id: str) -> ConversationReference | None:
        """The personal chat the bot has with this user, if it has met them there (never a channel or group chat,
        whatever an older record says)."""
        mine = await self._state.get(USERS, user_id)
        reference = await self.get(str(mine["conversation"])) if mine else None
        return reference if reference is not None and is_personal(reference) else None


def _load(data: dict[str, Any]) -> ConversationReference:
    return ConversationReference().deserialize(data)

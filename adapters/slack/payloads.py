"""Slack payloads into the core's Events: one function per kind of payload (a slash command, a button, a modal sent
back, an @mention), each saying what was done, by whom, where, and where to answer. Nothing here decides anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.slack import views
from bot.door import Event, ThreadRef, UserRef

COMMAND = "/escalate"


@dataclass(frozen=True)
class Asker:
    """Who asked and how to answer them: the channel they asked in ("" for a modal), a trigger id (a form can be
    opened with it, once, within 3 seconds), and what a form opened from a message must remember of it."""

    user: UserRef
    channel: str = ""
    trigger: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)


def user_of(body: Mapping[str, Any]) -> UserRef:
    user = body.get("user")
    if isinstance(user, dict) and user.get("id"):  # interactivity payloads
        return UserRef("slack", str(user["id"]), name=str(user.get("username") or user.get("name") or ""))
    return UserRef("slack", str(body.get("user_id", "")), name=str(body.get("user_name", "")))  # slash commands


def _channel_id(body: Mapping[str, Any]) -> str:
    channel = body.get("channel")
    return str(channel.get("id", "")) if isinstance(channel, dict) else str(body.get("channel_id", ""))


def command(body: Mapping[str, Any]) -> tuple[Event, Asker]:
    """/escalate [words]: the whole line, as typed."""
    user, channel, trigger = user_of(body), str(body.get("channel_id", "")), str(body.get("trigger_id", ""))
    text = f"{COMMAND} {body.get('text') or ''}".strip()
    # (a trigger id is new for each command typed: the same one again is a replay, which must have no effect)
    event_id = f"slack-cmd:{trigger}" if trigger else ""
    return Event(user, ThreadRef("slack", channel), text=text, event_id=event_id), Asker(user, channel, trigger)


def button(body: Mapping[str, Any], action: Mapping[str, Any]) -> tuple[Event, Asker]:
    """A case message's button: the command it stands for, on the stage the message was about."""
    user, channel = user_of(body), _channel_id(body)
    name = str(action.get("action_id", ""))
    verb = "record" if name == views.RECORD else name.removeprefix("case_")
    try:
        value = json.loads(action.get("value") or "{}")
    except (TypeError, ValueError, RecursionError):
        value = {}
    value = value if isinstance(value, dict) else {}
    stage = value.get("stage") if isinstance(value.get("stage"), int) and verb != "record" else None
    message = body.get("message")
    message = message if isinstance(message, dict) else {}
    meta = {"ts": str(message.get("ts", "")), "text": views.fit_metadata(str(message.get("text", "")))}
    # (one click, however often it arrives: a double click sends the same action_ts twice)
    click = f"slack-click:{user.id}:{action.get('action_ts', '')}" if action.get("action_ts") else ""
    event = Event(user, ThreadRef("slack", channel), text=f"{verb} {value.get('ref', '')}".strip(), stage=stage,
                  event_id=click)
    return event, Asker(user, channel, str(body.get("trigger_id", "")), meta)


def submission(body: Mapping[str, Any], view: Mapping[str, Any]) -> tuple[Event, Asker]:
    """A modal sent back: its answers, with the form's context as it was kept (the step from the modal's kind). A
    Stage 1 form comes from the person's private chat with the bot (where their case goes when there is no cases
    channel); an action form from the channel it was opened in."""
    user, meta = user_of(body), views.metadata(view)
    step = views.STEPS.get(str(view.get("callback_id", "")), "")
    channel = str(meta.get("channel", ""))
    where = ThreadRef("slack", channel if step == "action" else user.id)
    event = Event.submitted(user, where, views.values(view), {**meta, "step": step},
                            event_id=f"slack-view:{view.get('id')}", reply_to=ThreadRef("slack", user.id))
    return event, Asker(user, channel, meta=meta)


def mention(body: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[Event, Asker]:
    """@escalation-bot words, in a channel: the words without the mention."""
    user = UserRef("slack", str(event.get("user", "")))
    channel = str(event.get("channel", ""))
    text = " ".join(w for w in str(event.get("text", "")).split() if not w.startswith("<@"))
    return (Event(user, ThreadRef("slack", channel), text=text or "help",
                  event_id=f"slack-event:{body.get('event_id', '')}"), Asker(user, channel))

"""Buttons on a case message: Resolve / Escalate / Extend (the form, for the stage the message was about) and
Download record (the written record, privately)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import payloads, views
from adapters.slack.answers import Answers, counted
from bot.door import ACTION_LABELS, Kind

CLICK_WINDOW = timedelta(minutes=2)  # the same click (its action_ts) delivered again: one form
DOUBLE_CLICK = timedelta(seconds=5)  # two clicks of one button by one person this close: one form (a form closed
#                                      and the button clicked again later opens it again)


async def clicked(ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any) -> None:
    await ack()
    answers: Answers = context["answers"]
    event, asker = payloads.button(body, action)
    replies = await answers.door.handle(event)
    opens = any(r.kind == Kind.FORM for r in replies)
    if opens and event.event_id and not await answers.state.claim(event.event_id, CLICK_WINDOW):
        return  # the same click again (a retry): its form is open already
    button = f"slack-button:{event.user.id}:{asker.meta.get('ts', '')}:{action.get('action_id', '')}"
    if opens and asker.meta.get("ts") and not await answers.state.claim(button, DOUBLE_CLICK):
        return  # a double click (two clicks, two action_ts): its form is open already
    await answers.show(replies, asker, event.event_id)


def register(app: AsyncApp) -> None:
    for name in (*(f"case_{a}" for a in ACTION_LABELS), views.RECORD):  # (listeners.HANDLED.actions)
        app.action(name)(counted(clicked))

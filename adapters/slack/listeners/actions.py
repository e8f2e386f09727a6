"""Buttons on a case message: Resolve / Escalate / Extend (the form, for the stage the message was about) and
Download record (the written record, privately)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import payloads, views
from adapters.slack.answers import Answers
from bot.door import ACTION_LABELS


async def clicked(ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any) -> None:
    await ack()
    answers: Answers = context["answers"]
    event, asker = payloads.button(body, action)
    await answers.show(await answers.door.handle(event), asker)


def register(app: AsyncApp) -> None:
    for name in (*(f"case_{a}" for a in ACTION_LABELS), views.RECORD):
        app.action(name)(clicked)

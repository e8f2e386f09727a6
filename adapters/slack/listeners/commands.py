"""/escalate [words]: the line goes to the core as typed; its replies are shown to the person who typed it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import payloads
from adapters.slack.answers import Answers, counted


async def escalate(ack: Any, body: dict[str, Any], context: Any) -> None:
    await ack()
    answers: Answers = context["answers"]
    event, asker = payloads.command(body)
    await answers.show(await answers.door.handle(event), asker, event.event_id)


def register(app: AsyncApp) -> None:
    app.command(payloads.COMMAND)(counted(escalate))

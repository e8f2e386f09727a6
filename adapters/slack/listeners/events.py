"""@mentions of the bot in a channel: the words go to the core; the answer is private (a form is never shown from a
mention: the person is told the command that opens it)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import payloads
from adapters.slack.answers import Answers, counted


async def mentioned(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
    answers: Answers = context["answers"]
    handed, asker = payloads.mention(body, event)
    await answers.show(await answers.door.handle(handed), asker, handed.event_id)


def register(app: AsyncApp) -> None:
    app.event("app_mention")(counted(mentioned))

"""Modals sent back: the first step of the Stage 1 form (partnership, immediate risk), the rest of it, and the form
for acting on a case. The core checks the answers before the ack, so problems go back in the ack itself (as Slack
requires); the first step's answer (the emergency route, or the next questions) is the ack's new view."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import payloads, views
from adapters.slack.answers import Answers
from adapters.slack.payloads import Asker
from bot.door import ACTED, ACTION_DONE, Event, Kind, Reply


async def checked(ack: Any, body: dict[str, Any], view: dict[str, Any],
                  context: Any) -> tuple[Answers, Event, Asker] | None:
    """The submission, once the core found nothing wrong with it; else None, its problems acked on their fields."""
    answers: Answers = context["answers"]
    event, asker = payloads.submission(body, view)
    errors = await answers.door.check(event)
    if errors:
        await ack(response_action="errors", errors=dict(errors))
        return None
    return answers, event, asker


async def start_sent(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    sent = await checked(ack, body, view, context)
    if sent is None:
        return
    answers, event, asker = sent
    replies = await answers.door.handle(event)  # (a yes is recorded before the ack: the route is shown at once)
    first = replies[0] if replies else Reply("", kind=Kind.INVALID)
    if first.kind == Kind.EMERGENCY:
        await ack(response_action="update", view=views.emergency_modal(first.text))
        await answers.tell(Asker(asker.user), first.text)
    elif first.kind == Kind.FORM and first.form is not None:
        await ack(response_action="update", view=views.modal(first.form, {"channel": asker.channel}))
    else:
        await ack(response_action="errors", errors=dict(first.errors) or {"immediate_risk": "Please try again."})


async def intake_sent(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    sent = await checked(ack, body, view, context)
    if sent is None:
        return
    answers, event, asker = sent
    await ack()
    await answers.show(await answers.door.handle(event), Asker(asker.user))  # (by direct message)


async def action_sent(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    sent = await checked(ack, body, view, context)
    if sent is None:
        return
    answers, event, asker = sent
    await ack()
    replies = await answers.door.handle(event)
    posted = not any(r.kind == Kind.NOT_POSTED for r in replies)
    await answers.show(replies, asker)
    done = next((r for r in replies if r.kind in ACTED), None)
    if done is not None and asker.meta.get("ts"):  # the message whose button opened the form: who did what
        note = f"{ACTION_DONE[done.kind]} by <@{asker.user.id}>" + (": see the reply in this thread." if posted
                                                                    else ".")
        await answers.sender.update(asker.channel, str(asker.meta["ts"]), str(asker.meta.get("text", "")), note)


def register(app: AsyncApp) -> None:
    app.view(views.CALLBACKS["start"])(start_sent)
    app.view(views.CALLBACKS["intake"])(intake_sent)
    app.view(views.CALLBACKS["action"])(action_sent)

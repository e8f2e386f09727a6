"""Modals sent back: the first step of the Stage 1 form (partnership, immediate risk), the rest of it, and the form
for acting on a case. The core checks the answers and stores the form before the ack (so a form Slack was told it
received is never lost, whatever stops the bot next); problems go back in the ack itself, as Slack requires, and the
first step's answer (the emergency route, or the next questions) is the ack's new view. What the person is owed (their
case reference, an answer) is then sent by the core, by direct message; here only the message whose button opened an
action form is updated to say who did what.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import payloads, views
from adapters.slack.answers import Answers, counted
from bot.door import ACTED, ACTION_DONE, Kind, Submitted


async def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any],
                    context: Any) -> tuple[Answers, Submitted, payloads.Asker] | None:
    """The submission as the core took it; None once its problems were acked on their fields."""
    answers: Answers = context["answers"]
    event, asker = payloads.submission(body, view)
    taken = await answers.door.submit(event)
    if taken.errors:
        await ack(response_action="errors", errors=dict(taken.errors))
        return None
    return answers, taken, asker


async def start_sent(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    got = await submitted(ack, body, view, context)
    if got is None:
        return
    answers, taken, asker = got
    if taken.form is not None and taken.form.form is not None:
        await ack(response_action="update", view=views.modal(taken.form.form, {"channel": asker.channel}))
        return
    await ack(response_action="update", view=views.emergency_modal(taken.route))  # (already recorded as given)
    await answers.door.process(taken.ticket)


async def intake_sent(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    got = await submitted(ack, body, view, context)
    if got is None:
        return
    answers, taken, _ = got
    await ack()
    await answers.door.process(taken.ticket)


async def action_sent(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    got = await submitted(ack, body, view, context)
    if got is None:
        return
    answers, taken, asker = got
    await ack()
    if taken.refused is not None:  # (nothing was stored: said where the form was opened)
        await answers.tell(asker, taken.refused.text)
        return
    replies = await answers.door.process(taken.ticket)
    posted = not any(r.kind == Kind.NOT_POSTED for r in replies)
    done = next((r for r in replies if r.kind in ACTED), None)
    if done is not None and asker.meta.get("ts"):  # the message whose button opened the form: who did what
        note = f"{ACTION_DONE[done.kind]} by <@{asker.user.id}>" + (": see the reply in this thread." if posted
                                                                    else ".")
        await answers.sender.update(asker.channel, str(asker.meta["ts"]), str(asker.meta.get("text", "")), note)


def register(app: AsyncApp) -> None:
    app.view(views.CALLBACKS["start"])(counted(start_sent))
    app.view(views.CALLBACKS["intake"])(counted(intake_sent))
    app.view(views.CALLBACKS["action"])(counted(action_sent))

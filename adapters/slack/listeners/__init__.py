"""Slack listeners, one module per kind of payload, each with a small `register`. Every listener acks first (within
Slack's 3 seconds; a modal is opened straight after with its trigger id) and does slow work after; a form's problems
go back in the ack itself. `Answers` reaches each listener through bolt's context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import payloads, views
from adapters.slack.answers import Answers
from adapters.slack.listeners import actions, commands, events, forms
from adapters.slack.shapes import Handled
from bot.door import ACTION_LABELS

# What the listeners below answer (nothing else reaches bolt): the route checks requests against it.
HANDLED = Handled(commands=frozenset({payloads.COMMAND}), views=frozenset(views.CALLBACKS.values()),
                  actions=frozenset({*(f"case_{a}" for a in ACTION_LABELS), views.RECORD}),
                  events=frozenset({"app_mention"}))


def register(app: AsyncApp, answers: Answers) -> None:
    async def carry(context: Any, next: Callable[[], Awaitable[None]]) -> None:
        context["answers"] = answers
        await next()

    app.use(carry)
    for module in (commands, forms, actions, events):
        module.register(app)

"""Answering a person in Slack: the core's replies rendered for whoever asked, privately unless a reply is meant for
the channel (the weekly summary)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from adapters.slack import views
from adapters.slack.payloads import COMMAND, Asker
from adapters.slack.sender import SlackSender, plain_error
from bot.door import ACTED, ChannelState, Door, Form, Kind, Reply, SendError, ThreadRef

log = logging.getLogger(__name__)
NO_RECORD = "Sorry, I could not send you the record privately. Try again, or ask an operator to export it."


@dataclass
class Answers:
    """What every listener uses: the door into the core and the Web API."""

    door: Door
    sender: SlackSender
    state: ChannelState

    async def show(self, replies: Iterable[Reply], asker: Asker, key: str = "") -> None:
        """Each reply as Slack shows it to the person who asked (changes to a case are posted in its thread by the
        core, so they are not repeated here). `key`: the request's once-only key; with it, an answer Slack did not
        take is kept by the core's outbox and sent to the person's direct messages, with retries."""
        for number, reply in enumerate(replies):
            if reply.kind == Kind.FORM and reply.form is not None:
                await self.open_form(reply.form, asker)
            elif reply.kind == Kind.RECORD and reply.attachment is not None:
                sent = await self.sender.send_private(asker.user.id, reply)
                await self.tell(asker, reply.text if sent else NO_RECORD)
            elif reply.kind == Kind.SUMMARY and asker.channel:
                await self.post_summary(reply, asker)
            elif reply.kind not in ACTED and not await self.tell(asker, reply.text) and key and asker.user.id:
                await self.door.send_later(ThreadRef("slack", asker.user.id), Reply(reply.text),
                                           f"slack:{key}:{number}")

    async def tell(self, asker: Asker, text: str) -> bool:
        return await self.sender.tell(asker.user.id, asker.channel, text)

    async def open_form(self, form: Form, asker: Asker) -> None:
        """Open a form as a modal with the trigger id; if there is none (an @mention) or Slack will not, say how to
        get it (nothing was stored, so trying again is safe)."""
        if not asker.trigger:
            words = COMMAND if form.step != "action" else f"{COMMAND} {form.command}"
            await self.tell(asker, f"Type {words} to get the form: it asks for details that are not shared here.")
            return
        view = (views.modal_json(form, asker.channel) if form.step == "start"
                else views.modal(form, {"channel": asker.channel, **asker.meta}))
        error = await self.sender.open_view(asker.trigger, view)
        if error is not None:
            await self.tell(asker, f"Sorry, the form could not be opened: {plain_error(error)}. Nothing was "
                                   "saved; please try the same command or button again.")

    async def post_summary(self, reply: Reply, asker: Asker) -> None:
        """The weekly summary, in the channel where it was asked (with its chart)."""
        try:
            await self.sender.post(ThreadRef("slack", asker.channel), reply)
        except SendError as exc:
            await self.tell(asker, f"Sorry, the summary could not be posted here: {exc}.")


def counted(listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A listener whose whole run (bolt carries on with it after its ack) counts as work in flight: a stop waits for
    it, and it counts towards the door's `overloaded`. (bolt reads the arguments to pass from `listener` itself.)"""

    @functools.wraps(listener)
    async def run(**kwargs: Any) -> None:
        answers: Answers = kwargs["context"]["answers"]
        async with answers.door.working():
            await listener(**kwargs)

    return run

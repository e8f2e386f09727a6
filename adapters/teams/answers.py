"""Answering in Teams: the core's replies rendered in the conversation of the turn, except what must stay private
(the Stage 1 form and a written record), which goes to the person's personal chat with the bot."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping

from botbuilder.schema import Activity

from adapters.teams import cards, files
from adapters.teams.activities import card_activity, reply_activity
from adapters.teams.sender import TeamsSender
from adapters.teams.turn import REPLY_SECONDS, Turn
from bot.door import ACTED, ACTION_DONE, Door, Form, Kind, Reply, SendError

log = logging.getLogger(__name__)
PRIVATE = "I have sent you the escalation form in our personal chat, so the details stay out of this conversation."
RECORD_SENT = "I have sent you the written record in our personal chat, so it stays out of this conversation."
NO_PRIVATE = ("I could not message you privately. Open a chat with me (find me under Apps) and type escalate there: "
              "the form asks for details that should not be shared here.")
SLOW_PRIVATE = ("Teams is slow to answer just now. What I sent should reach our personal chat shortly; if it has not "
                "in a few minutes, open a chat with me (find me under Apps) and type escalate there.")


def new_card_id() -> str:
    return uuid.uuid4().hex


class TeamsAnswers:
    """What the turn handlers share: the door into the core and the channel's sender."""

    def __init__(self, door: Door, sender: TeamsSender) -> None:
        self.door = door
        self.sender = sender

    async def show(self, turn: Turn, replies: Iterable[Reply], nudge: str = "") -> None:
        """Each reply as Teams shows it in this conversation (`nudge`: the case message a button was clicked on)."""
        for number, reply in enumerate(replies):
            if reply.form is not None and reply.kind in (Kind.FORM, Kind.INVALID):
                await self.form(turn, reply.form, reply.private, reply.errors, nudge=nudge)
            elif reply.kind == Kind.RECORD and reply.attachment is not None:
                await self.private(turn, files.consent_activity(reply), RECORD_SENT)
            elif reply.kind in ACTED:
                await self.post_here(turn, reply)
                await self.mark_done(turn, nudge, f"{ACTION_DONE[reply.kind]} by {turn.user.display}: see the "
                                                  "reply below.")
            else:
                sent = await turn.say(reply_activity(reply))
                if sent is None:  # Teams refused or did not answer: the core's outbox sends it, and retries
                    await self.door.send_later(turn.thread, reply, f"teams:{turn.key}:{number}")
                await self.sender.remember(turn.thread.conversation, sent or "", reply)

    async def form(self, turn: Turn, form: Form, private: bool, errors: Mapping[str, str] | None = None,
                   values: Mapping[str, str] | None = None, nudge: str = "", card_id: str = "") -> str | None:
        """A form as a card: again in place of the one sent (with its problems), else new (the Stage 1 form only in
        the personal chat). The new card's id, or None if it could not be posted."""
        content = cards.form_card(form, card_id or new_card_id(), values, errors, nudge)
        if errors:
            await turn.show(content, "Some answers need another look")
            return turn.activity.reply_to_id
        if not private or turn.personal:
            return await turn.say(card_activity(content, form.intro or form.title))
        return await self.private(turn, card_activity(content, "Escalate a professional disagreement"), PRIVATE)

    async def private(self, turn: Turn, activity: Activity, said: str) -> str | None:
        """Something for this person only: here in the personal chat, else sent there (and said so here). Teams is
        waited on for at most REPLY_SECONDS: the request is not held up."""
        if turn.personal:
            return await turn.say(activity)
        try:
            async with asyncio.timeout(REPLY_SECONDS):
                reference = await self.sender.open_personal(turn.activity)
                sent = await self.sender.post_activity(reference, activity)
        except TimeoutError:
            log.warning("teams: the personal chat got no answer within %s s", REPLY_SECONDS)
            await turn.say(SLOW_PRIVATE)
            return None
        except SendError:
            await turn.say(NO_PRIVATE)
            return None
        await turn.say(said)
        return sent

    async def post_here(self, turn: Turn, reply: Reply) -> None:
        """A change to a case, in this conversation, mentioning whoever must act (where it is shared). If Teams
        refuses or does not answer within REPLY_SECONDS, the core's outbox sends it (and retries)."""
        reference = await self.sender.refs.get(turn.thread.conversation)
        try:
            if reference is None:
                raise SendError("no stored conversation")
            async with asyncio.timeout(REPLY_SECONDS):
                await self.sender.post_reply(reference, reply)
        except (SendError, TimeoutError):
            if await turn.say(reply_activity(reply)) is None:
                await self.door.send_later(turn.thread, reply, f"teams:{turn.key}:acted")

    async def mark_done(self, turn: Turn, nudge: str, note: str) -> None:
        """Show on the case message whose button was clicked who did what, and take its buttons away."""
        if not nudge:
            return
        text = await self.sender.sent_text(turn.thread.conversation, nudge) or ""
        await turn.replace(nudge, cards.done_card(text, note), note)

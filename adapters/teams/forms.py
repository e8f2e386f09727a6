"""Card submits: the two steps of the Stage 1 form, the form for acting on a case, and the buttons on case messages.

Every form card carries its own id (`_card`); the core sees it as the event id, so a second submit of the same card
(a double click, or Teams delivering it twice) never opens a second case or acts twice. Two kinds of click are also
claimed here, once per person, in the channel's own markers (with the time, so they expire with the core's dedupe
records): "Next" on a first-step card (per card id) and a button on a case message (per message, i.e. its
reply_to_id, and action), so a double click posts one Stage 1 form or one action card. A click that was refused or
had invalid answers claims nothing, so it can be made again.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from adapters.teams import cards
from adapters.teams.activities import reply_activity
from adapters.teams.answers import TeamsAnswers
from adapters.teams.turn import Turn
from bot.door import ACTED, ACTION_DONE, ACTION_LABELS, ChannelState, Event, Kind

OUT_OF_DATE = "This card is out of date. Type escalate to start again, or help to see what I can do."
ALREADY_SENT = "This form was already sent; nothing more was changed."
CARD_ID = re.compile(r"^[0-9a-f]{32}$")
CLICK_WINDOW = timedelta(minutes=2)  # a double click comes within seconds; the same click later is a new intention
SENT_TITLE = "Escalate a professional disagreement"
CHOSEN = ("choice", "yes_no", "date")  # answers picked, not typed: put back in a form shown again anywhere


class Forms:
    def __init__(self, answers: TeamsAnswers, state: ChannelState) -> None:
        self.answers = answers
        self.state = state

    async def submitted(self, turn: Turn, value: Mapping[str, Any]) -> None:
        action = value.get("_action")
        if isinstance(action, str) and action in ACTION_LABELS:
            await self._clicked(turn, action, value)
            return
        context = cards.context_of(value)
        if context.get("step") not in ("start", "intake", "action"):
            await turn.say(OUT_OF_DATE)
            return
        card = str(value.get("_card", ""))
        event = Event.submitted(turn.user, turn.thread, cards.answers_of(value), context,
                                event_id=f"teams-card:{card if CARD_ID.match(card) else turn.key}",
                                reply_to=turn.thread)
        if event.step == "start":
            await self._start_sent(turn, event, card)
        else:
            await self._sent(turn, event, card, str(value.get("_nudge", "")))

    async def _clicked(self, turn: Turn, action: str, value: Mapping[str, Any]) -> None:
        """A button on a case message: its form here, once per person per message and action within the window."""
        stage = value.get("stage") if isinstance(value.get("stage"), int) else None
        event = Event(turn.user, turn.thread, text=f"{action} {value.get('ref', '')}", stage=stage)
        replies = await self.answers.door.handle(event)
        nudge = str(turn.activity.reply_to_id or "")
        form = next((r.form for r in replies if r.kind == Kind.FORM and r.form is not None), None)
        if form is None or not nudge:
            await self.answers.show(turn, replies, nudge)
            return
        claim = f"click:{turn.user.id}:{turn.thread.conversation}|{nudge}:{action}"
        if not await self.state.claim(claim, CLICK_WINDOW):
            await turn.say(f"The {ACTION_LABELS[action]} form for {form.case_ref} is already in this conversation, "
                           "above.")
            return
        async with self._released_unless_posted(claim) as posted:
            posted.append(await self.answers.form(turn, form, False, nudge=nudge))

    async def _start_sent(self, turn: Turn, event: Event, card: str) -> None:
        """The first step. A yes is never held back by a claim: every click shows the emergency route (recorded
        once, its reference sent in the next message); a no posts the rest of the questions once per card."""
        claim = f"click:{turn.user.id}:{card}" if (event.form or {}).get("immediate_risk") == "no" else ""
        if claim and not await self.state.claim(claim, CLICK_WINDOW):
            await turn.say(ALREADY_SENT)
            return
        async with self._released_unless_posted(claim) as posted:
            taken = await self.answers.door.submit(event)
            if taken.errors and taken.form is not None and taken.form.form is not None:
                await self.answers.form(turn, taken.form.form, True, taken.errors, cards.answers_of(event.form or {}),
                                        card_id=card)
            elif taken.form is not None and taken.form.form is not None:
                # (the questions first: a slow or failing Teams never leaves the person with a closed card and no
                # questions; the start card is then shown as answered)
                posted.append(await self.answers.form(turn, taken.form.form, True))
                await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                    SENT_TITLE, "No immediate risk. The questions are in the next message."))
            elif taken.ticket:
                await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                    "Immediate risk of harm", f"{taken.route}\nIt is recorded: its reference is in the next message."))
                await self.answers.door.process(taken.ticket)
            else:
                await turn.say(OUT_OF_DATE)

    async def _sent(self, turn: Turn, event: Event, card: str, nudge: str) -> None:
        """The rest of the Stage 1 questions, or an action's: stored, then handled (what the person and the case's
        thread are owed is sent by the core), or the form again with its problems."""
        taken = await self.answers.door.submit(event)
        answers = cards.answers_of(event.form or {})
        if taken.errors and taken.form is not None and taken.form.form is not None:
            if not turn.personal:  # (a card is shown to everyone here: what was typed is not put back in it)
                typed = {q.id for q in taken.form.form.questions if q.kind not in CHOSEN}
                answers = {k: v for k, v in answers.items() if k not in typed}
            await self.answers.form(turn, taken.form.form, taken.form.private, taken.errors, answers, nudge, card)
            return
        if taken.refused is not None:
            await turn.say(reply_activity(taken.refused))
            return
        if not taken.ticket:
            await turn.say(OUT_OF_DATE)
            return
        replies = await self.answers.door.process(taken.ticket)  # (sent again: handled now if it was not yet)
        if taken.again and not replies:
            await turn.say(ALREADY_SENT)
            return
        for reply in replies:
            if reply.kind == Kind.CASE_OPENED:
                await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                    SENT_TITLE, f"Sent: case {reply.case_ref} is open."))
            elif reply.kind in ACTED:
                await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                    f"{ACTION_LABELS[reply.kind]} {reply.case_ref}", "Sent: the result is in the next message."))
                await self.answers.mark_done(turn, nudge, f"{ACTION_DONE[reply.kind]} by {turn.user.display}: see "
                                                          "the reply below.")

    @contextlib.asynccontextmanager
    async def _released_unless_posted(self, claim: str) -> AsyncIterator[list[str | None]]:
        """Give a claimed click back unless the card it asked for was posted (the caller appends the new card's id,
        None if it could not be posted), and whenever anything fails: the same click must then work again."""
        posted: list[str | None] = []
        try:
            yield posted
        except BaseException:
            if claim:
                await self.state.release(claim)
            raise
        if claim and not any(posted):
            await self.state.release(claim)

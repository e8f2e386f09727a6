"""Card submits: the two-step Stage 1 form, the case thread it opens, and Resolve / Escalate / Extend on a case.

Every form carries its own id (`_card`); the engine sees it as the event id, so a second submit of the same card
(a double click, or Teams delivering it twice) never opens a second case or acts twice. Two kinds of click are also
claimed here, once per person, in the "events" dedupe collection ("teams-click:..." with the time, so bot.jobs.expiry expires
them): "Next" on a start card (per card id) and a button on a case message (per message, i.e. its reply_to_id, and
action), so a double click posts one Stage 1 form or one action card. A click that was refused or had invalid answers
claims nothing, so it can be made again.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from adapters.teams import cards
from adapters.teams.activities import card_activity, reply_activity
from adapters.teams.sender import TeamsSender
from adapters.teams.turn import Turn
from bot.cases import messages
from bot.conversation.engine import Engine
from bot.jobs.outbox import SendError
from bot.types import Event, Reply, ThreadRef

log = logging.getLogger(__name__)
OUT_OF_DATE = "This card is out of date. Type escalate to start again, or help to see what I can do."
ALREADY_SENT = "This form was already sent; nothing more was changed."
DONE = {"resolve": "Resolved", "escalate": "Escalated", "extend": "Timescale extended"}
CARD_ID = re.compile(r"^[0-9a-f]{32}$")


def new_card_id() -> str:
    return uuid.uuid4().hex


def answers_of(value: Mapping[str, Any]) -> dict[str, str]:
    """A submit's inputs by question id (the card's own data keys start with "_")."""
    return {k: v for k, v in value.items() if isinstance(k, str) and not k.startswith("_") and isinstance(v, str)}


def stage_of(raw: Any) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 4 else None


CLICK_WINDOW = timedelta(minutes=2)  # a double click comes within seconds; the same click later is a new intention


class _NotPosted(Exception):
    """The card a claimed click asked for could not be posted (Teams refused; already logged)."""


class Forms:
    def __init__(self, engine: Callable[[], Engine], sender: TeamsSender, cases_channel: str) -> None:
        self.engine = engine
        self.sender = sender
        self.cases_channel = cases_channel

    async def start(self, turn: Turn) -> None:
        content = cards.start_card(self.engine().policies, new_card_id())
        await turn.say(card_activity(content, "Escalate a professional disagreement"))

    async def submitted(self, turn: Turn, value: Mapping[str, Any]) -> None:
        card = str(value.get("_card", ""))
        event_id = f"teams-card:{card if CARD_ID.match(card) else turn.key}"
        action = value.get("_action")
        if isinstance(action, str) and action in cards.BUTTONS:
            nudge = str(turn.activity.reply_to_id or "")
            claim = f"{turn.thread.conversation}|{nudge}:{action}" if nudge else ""
            await self.offer(turn, action, str(value.get("ref", "")), stage_of(value.get("stage")), nudge=nudge,
                             claim=claim)
        elif value.get("_form") == "start":
            await self._start_sent(turn, value, event_id)
        elif value.get("_form") == "intake":
            await self._intake_sent(turn, value, event_id)
        elif value.get("_form") == "action":
            await self._action_sent(turn, value, event_id)
        else:
            await turn.say(OUT_OF_DATE)

    # --- Stage 1 ----------------------------------------------------------------------------------------------
    async def _start_sent(self, turn: Turn, value: Mapping[str, Any], event_id: str) -> None:
        engine = self.engine()
        answers = answers_of(value)
        policy_id = answers.get("policy", "") if len(engine.policies) > 1 else next(iter(engine.policies))
        risk = answers.get("immediate_risk")
        errors = {}
        if policy_id not in engine.policies:
            errors["policy"] = "Please choose the partnership."
        if risk not in ("yes", "no"):
            errors["immediate_risk"] = "Please answer yes or no."
        if errors:
            card = str(value.get("_card", "")) or new_card_id()
            await turn.show(cards.start_card(engine.policies, card, answers, errors), "Some answers need another look")
            return
        if risk == "yes":  # never held back by a claim: every click shows the emergency route (recorded once)
            form = {"policy": policy_id, "immediate_risk": "yes"}
            replies = await engine.handle(Event(turn.user, turn.thread, form=form, event_id=event_id))
            await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                "Immediate risk of harm", "The procedure's emergency route is in the next message."))
            for reply in replies or [Reply(messages.emergency_route(engine.policies[policy_id]))]:
                await turn.say(reply_activity(reply))
            return
        claim = await self._claim(turn, event_id.removeprefix("teams-card:"))
        if claim is None:
            await turn.say(ALREADY_SENT)
            return
        async with self._released_on_failure(claim):
            found = engine.intake_questions(turn.user, policy_id)
            if found is None:
                await turn.say(OUT_OF_DATE)
                return
            policy, questions = found
            await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                "Escalate a professional disagreement", "No immediate risk. The questions are in the next message."))
            content = cards.intake_card(policy, questions, new_card_id())
            if await turn.say(card_activity(content, "The Stage 1 questions")) is None:
                raise _NotPosted

    async def _intake_sent(self, turn: Turn, value: Mapping[str, Any], event_id: str) -> None:
        engine = self.engine()
        policy_id = str(value.get("policy", ""))
        found = engine.intake_questions(turn.user, policy_id)
        if found is None:
            await turn.say(OUT_OF_DATE)
            return
        policy, questions = found
        answers = answers_of(value)
        event = Event(turn.user, turn.thread, form={**answers, "policy": policy_id, "immediate_risk": "no"},
                      event_id=event_id)
        errors = engine.validate_form(event)
        if errors:
            content = cards.intake_card(policy, questions, str(value.get("_card", "")) or new_card_id(), answers,
                                        errors)
            await turn.show(content, "Some answers need another look")
            return
        replies = await engine.handle(event)
        if not replies:
            await turn.say(ALREADY_SENT)
        for reply in replies:
            if reply.kind == "case_opened":
                await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                    "Escalate a professional disagreement", f"Sent: case {reply.case_ref} is open."))
                reply = replace(reply, text=f"{reply.text}\n{await self._case_thread(turn, reply.case_ref)}")
            await turn.say(reply_activity(reply))

    async def _case_thread(self, turn: Turn, ref: str) -> str:
        """Post the case's root message where its thread will be; returns a sentence saying where that is."""
        engine = self.engine()
        root = await engine.root(ref)
        if self.cases_channel:
            try:
                thread = await self.sender.start_thread(turn.activity, self.cases_channel, root)
            except SendError as exc:
                log.warning("teams: case %s: no thread in the cases channel; its messages stay in the chat", ref)
                return f"I could not post it in the cases channel ({exc}), so its messages will come to this chat."
            await engine.set_thread(ref, ThreadRef("teams", thread))
            return "Its thread is in the cases channel: updates and reminders will be posted there."
        reference = await self.sender.refs.get(turn.thread.conversation)
        try:
            if reference is not None:
                await self.sender.post(reference, root)
        except SendError:
            log.warning("teams: case %s: its root message was not posted", ref)
        await engine.set_thread(ref, turn.thread)
        return "Updates and reminders about it will come to this chat."

    async def _claim(self, turn: Turn, click: str) -> str | None:
        """The claim's key the first time this person makes this click within CLICK_WINDOW (atomically, so two at
        once cannot both have it); None for a repeat inside it (a double click)."""
        engine = self.engine()
        now = engine.clock.now()
        key = f"teams-click:{turn.user.id}:{click}"  # with the other dedupe records, which bot.jobs.expiry expires
        claimed = False

        def take(current: dict[str, Any] | None) -> dict[str, Any]:
            nonlocal claimed
            try:  # the same click again later is a new intention, not a double click
                held = current is not None and datetime.fromisoformat(str(current.get("at"))) >= now - CLICK_WINDOW
            except ValueError:
                held = False
            if held:
                assert current is not None
                return current
            claimed = True
            return {"at": now.isoformat()}

        await engine.store.update("events", key, take)
        return key if claimed else None

    @contextlib.asynccontextmanager
    async def _released_on_failure(self, claim: str) -> AsyncIterator[None]:
        """Give a claimed click back if its card could not be posted (or anything failed), so clicking again works."""
        try:
            yield
        except _NotPosted:
            await self.engine().store.delete("events", claim)
        except BaseException:
            await self.engine().store.delete("events", claim)
            raise

    # --- acting on a case -------------------------------------------------------------------------------------
    async def offer(self, turn: Turn, action: str, ref: str, stage: int | None, nudge: str = "",
                    card: str = "", answers: Mapping[str, str] | None = None,
                    errors: Mapping[str, str] | None = None, claim: str = "") -> None:
        """The action's questions as a card in this conversation, or a refusal saying why not. With `claim` (a
        button click), once: a repeat of the click by the same person is told the card is already there."""
        reply = await self.engine().action_form(turn.user, action, ref, stage)
        if reply.kind != "form":
            await turn.say(reply.text)
            return
        claimed = await self._claim(turn, claim) if claim else None
        if claim and claimed is None:
            await turn.say(f"The {cards.BUTTONS[action]} form for {reply.case_ref} is already in this conversation, "
                           "above.")
            return
        meta = {"_card": card or new_card_id(), "_act": action, "_ref": reply.case_ref, "_stage": reply.stage,
                "_nudge": nudge}
        content = cards.action_card(reply, action, meta, answers, errors)
        if errors:
            await turn.show(content, "Some answers need another look")
        elif claimed is None:
            await turn.say(card_activity(content, reply.text))
        else:
            async with self._released_on_failure(claimed):
                if await turn.say(card_activity(content, reply.text)) is None:
                    raise _NotPosted

    async def _action_sent(self, turn: Turn, value: Mapping[str, Any], event_id: str) -> None:
        action, ref, stage = str(value.get("_act", "")), str(value.get("_ref", "")), stage_of(value.get("_stage"))
        if action not in cards.BUTTONS or not ref:
            await turn.say(OUT_OF_DATE)
            return
        answers = answers_of(value)
        event = Event(turn.user, turn.thread, form=answers, action=action, case_ref=ref, stage=stage,
                      event_id=event_id)
        results = await self.engine().handle(event)
        if not results:
            await turn.say(ALREADY_SENT)
        nudge = str(value.get("_nudge", ""))
        for result in results:
            if result.errors:
                await self.offer(turn, action, ref, stage, nudge, str(value.get("_card", "")), answers,
                                 result.errors)
            elif result.kind == action:
                await turn.replace(turn.activity.reply_to_id, cards.sent_card(
                    f"{cards.BUTTONS[action]} {ref}", "Sent: the result is in the next message."))
                await self._post_here(turn, result)
                await self._mark_done(turn, nudge, f"{DONE[action]} by {turn.user.display}: see the reply below.")
            else:
                await turn.say(reply_activity(result))

    async def _post_here(self, turn: Turn, result: Reply) -> None:
        reference = await self.sender.refs.get(turn.thread.conversation)
        try:
            if reference is None:
                raise SendError("no stored conversation")
            await self.sender.post(reference, result)
        except SendError:
            await turn.say(reply_activity(result))

    async def _mark_done(self, turn: Turn, nudge: str, note: str) -> None:
        """Show on the case message whose button was clicked who did what, and take its buttons away."""
        if not nudge:
            return
        text = await self.sender.sent_text(turn.thread.conversation, nudge) or ""
        await turn.replace(nudge, cards.done_card(text, note), note)

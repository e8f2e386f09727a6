"""The Teams bot's turn: dedupe, remember the conversation, then typed commands, card submits or installs.

A message or invoke that names no sender is ignored (an invoke still gets its 200); a repeated activity has no second
effect, and a repeated invoke gets the same answer as the first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from adapters.teams import cards, files
from adapters.teams.activities import card_activity, reply_activity
from adapters.teams.forms import Forms, new_card_id
from adapters.teams.references import References
from adapters.teams.sender import TeamsSender
from adapters.teams.turn import Turn
from bot.conversation.engine import Engine
from bot.jobs.outbox import SendError
from bot.types import Event, Reply

log = logging.getLogger(__name__)
REF = re.compile(r"^ESC-\d{4}-\d{4,}$", re.IGNORECASE)
HELP = """I help you follow your safeguarding partnership's procedure for resolving a professional disagreement.
escalate: start an escalation (a form in our personal chat)
status REF: where a case is, e.g. status ESC-2026-0001
resolve REF, escalate REF, extend REF: act on a case
record REF: your private copy of the case's written record
summary: the weekly summary
help: this message
In a channel, @mention me first. If a child is in immediate danger, call 999 now."""
RECORD_SENT = "I have sent you the written record in our personal chat, so it stays out of this conversation."
PRIVATE = ("I have sent you the escalation form in our personal chat, so the details stay out of this "
           "conversation.")
NO_PRIVATE = ("I could not message you privately. Open a chat with me (find me under Apps) and type escalate there: "
              "the form asks for details that should not be shared here.")
EXECUTE = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
           "value": "This button is out of date. Type escalate to start again, or help to see what I can do."}


class TeamsBot:
    def __init__(self, engine: Callable[[], Engine], sender: TeamsSender, refs: References,
                 cases_channel: str) -> None:
        self.engine = engine
        self.sender = sender
        self.refs = refs
        self.forms = Forms(engine, sender, cases_channel)
        self.consent = files.Consent()  # (tests replace it with one that also allows their fake upload server)

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        if activity.conversation is None or not activity.conversation.id:
            return
        turn = Turn(context)
        if activity.type in (ActivityTypes.message, ActivityTypes.invoke) and not turn.user.id:
            log.info("teams: a %s that names no sender was ignored", activity.type)
            await self._answer_invoke(context)
            return
        engine = self.engine()
        seen = {"seen": True, "at": engine.clock.now().isoformat()}  # the time lets bot.jobs.expiry expire it
        if activity.id and not await engine.store.create("events", f"teams:{turn.key}", seen):
            log.info("teams: a repeated activity was ignored")
            await self._answer_invoke(context)  # a retried invoke gets the answer the first one got, and no effect
            return
        await self.refs.remember(activity)
        if activity.type == ActivityTypes.message:
            value = activity.value
            if isinstance(value, dict) and value:
                await self.forms.submitted(turn, value)
            else:
                await self._said(turn)
        elif activity.type == ActivityTypes.invoke:
            await self._invoked(context)
        elif activity.type in (ActivityTypes.conversation_update, ActivityTypes.installation_update):
            await self._met(turn)

    async def _said(self, turn: Turn) -> None:
        words = turn.text().split()
        if len(words) > 1 and words[0].lower().lstrip("/") == "escalate" and not REF.match(words[1]):
            words = words[1:]  # "escalate status REF", as in Slack's "/escalate status REF"
        command = words[0].lower().lstrip("/") if words else "help"
        rest = words[1:]
        if command == "escalate" and not rest:
            await (self.forms.start(turn) if turn.personal else self._escalate_privately(turn))
        elif command in cards.BUTTONS and rest:
            await self.forms.offer(turn, command, rest[0], None)
        elif command == "summary":
            await turn.say(reply_activity(await self.engine().summary(turn.user, " ".join(rest))))
        elif command == "record" and rest:
            await self._record(turn, rest[0])
        elif command in ("help", "?", "hello", "hi"):
            await turn.say(reply_activity(Reply(HELP)))
        else:
            event = Event(turn.user, turn.thread, text=" ".join(words), event_id=f"teams-event:{turn.key}")
            for reply in await self.engine().handle(event):
                sent = await turn.say(reply_activity(reply))
                await self.sender.remember(turn.thread.conversation, sent or "", reply)

    async def _escalate_privately(self, turn: Turn) -> None:
        """Forms hold details that must not be shown in a channel: the form goes to the personal chat."""
        content = cards.start_card(self.engine().policies, new_card_id())
        try:
            reference = await self.sender.open_personal(turn.activity)
            await self.sender.post_activity(reference, card_activity(content, "Escalate a professional disagreement"))
        except SendError:
            await turn.say(NO_PRIVATE)
            return
        await turn.say(PRIVATE)

    async def _record(self, turn: Turn, ref: str) -> None:
        """The written record: a file-consent card in the personal chat only, for people who may act on the case."""
        reply = await self.engine().record(turn.user, ref)
        if reply.attachment is None:
            await turn.say(reply_activity(reply))
            return
        if turn.personal:
            await turn.say(files.consent_activity(reply))
            return
        try:
            reference = await self.sender.open_personal(turn.activity)
            await self.sender.post_activity(reference, files.consent_activity(reply))
        except SendError:
            await turn.say(NO_PRIVATE)
            return
        await turn.say(RECORD_SENT)

    async def _invoked(self, context: TurnContext) -> None:
        """Action.Execute and other invokes: a 200 with a short answer (never botbuilder's 501 or 500)."""
        if context.activity.name == files.INVOKE:
            await self.consent.answered(Turn(context), self.engine())
        await self._answer_invoke(context)

    @staticmethod
    async def _answer_invoke(context: TurnContext) -> None:
        """An invoke's HTTP answer, always the same for the same invoke: 200, with EXECUTE for Action.Execute (any
        other activity needs none)."""
        if context.activity.type != ActivityTypes.invoke:
            return
        body = EXECUTE if context.activity.name == "adaptiveCard/action" else {}
        await context.send_activity(Activity(type=ActivityTypes.invoke_response,
                                             value=InvokeResponse(status=200, body=body)))

    async def _met(self, turn: Turn) -> None:
        """Installed in a personal chat: say hello, once (the reference is already stored)."""
        activity = turn.activity
        bot_id = getattr(activity.recipient, "id", None)
        added = [m.id for m in activity.members_added or []]
        installed = activity.type == ActivityTypes.installation_update and activity.action in ("add", "add-upgrade")
        if not (turn.personal and (installed or bot_id in added)):
            return
        # Teams sends both events on install: hello once per chat.
        if await self.engine().store.create("teams_welcomed", turn.thread.conversation, {"seen": True}):
            await turn.say(reply_activity(Reply(HELP)))

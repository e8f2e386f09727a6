"""The Teams bot's turn: dedupe, remember the conversation, then typed words, card submits, file consent or installs.

A message or invoke that names no sender is ignored (an invoke still gets its 200); a repeated activity has no second
effect, and a repeated invoke gets the same answer as the first. An activity is marked as handled once its turn has
run: one cut short (the process killed) is handled when Teams sends it again. Two copies arriving at once may both
run; what has effects is kept to once by the core (a form by its card id, a command by the activity's id).
"""

from __future__ import annotations

import logging

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from adapters.teams import files
from adapters.teams.answers import TeamsAnswers
from adapters.teams.forms import Forms
from adapters.teams.references import References
from adapters.teams.turn import Turn
from bot.door import ChannelState, Event

log = logging.getLogger(__name__)
EXECUTE = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
           "value": "This button is out of date. Type escalate to start again, or help to see what I can do."}
WELCOMED = "welcomed"


class TeamsBot:
    def __init__(self, answers: TeamsAnswers, refs: References, state: ChannelState) -> None:
        self.answers = answers
        self.refs = refs
        self.state = state
        self.forms = Forms(answers, state)
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
        if activity.id and await self.state.seen(turn.key):
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
        if activity.id:  # (marked once handled: a turn cut short by a crash is handled when Teams sends it again)
            await self.state.first(turn.key)

    async def _said(self, turn: Turn) -> None:
        event = Event(turn.user, turn.thread, text=turn.text() or "help", event_id=f"teams-event:{turn.key}")
        await self.answers.show(turn, await self.answers.door.handle(event))

    async def _invoked(self, context: TurnContext) -> None:
        """Action.Execute and other invokes: a 200 with a short answer (never botbuilder's 501 or 500)."""
        if context.activity.name == files.INVOKE:
            await self.consent.answered(Turn(context), self.answers.door)
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
        if await self.state.create(WELCOMED, turn.thread.conversation, {"seen": True}):
            await self.answers.show(turn, await self.answers.door.handle(Event(turn.user, turn.thread, text="help")))

"""The conversation core: an Event in, Replies out. Typed lines are read against the command table, forms are checked
by the forms module, dialogs decide, the case desk acts, and case threads are told through the outbox.

A channel that shows whole forms (Slack, Teams) gets a form where a channel of plain words (the console) is asked the
same questions one at a time, in a dialog stored as it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from bot.cases import messages
from bot.cases.book import CaseBook
from bot.cases.case import is_ref, stage_now, thread_of
from bot.cases.desk import CaseDesk
from bot.cases.roles import Roles
from bot.conversation import commands
from bot.conversation.commands import Line
from bot.conversation.dialogs import Dialogs, current_question
from bot.conversation.forms import Forms
from bot.dates.clock import Clock
from bot.dates.workdays import london_today
from bot.jobs.outbox import ChannelInfo, Outbox
from bot.jobs.threads import Sent, Threads
from bot.records.download import download, sent_text
from bot.summary import figures
from bot.summary.report import compose
from bot.types import ACTED, Attachment, Event, Form, Kind, Reply, ThreadRef, UserRef
from dialogs import actions, intake
from dialogs.outcome import Outcome, Say
from policies.model import Policy
from storage.base import Store
from storage.collections import EVENTS
from storage.common import KeyedLocks

log = logging.getLogger(__name__)
NO_EFFECT = (Kind.REFUSED, Kind.FORM, Kind.INVALID)  # replies that changed nothing: the event is not remembered
WAIT = 3.0  # seconds a person's answer waits for a case's thread to be told (else it says it will be, later)
OUT_OF_DATE = "This form is out of date. Type escalate to start again, or help to see what I can do."


def reply_of(say: Say, case_ref: str = "") -> Reply:
    """What a dialog says, as a reply."""
    kind = Kind.INVALID if say.invalid or say.errors else Kind.MESSAGE
    return Reply(say.text, question=say.question, kind=kind, errors=say.errors, case_ref=case_ref)


def replies_of(outcome: Outcome, case_ref: str = "") -> list[Reply]:
    return [reply_of(say, case_ref) for say in outcome.says]


class Engine:
    """One conversation core behind every channel. Events from one user are handled one at a time."""

    def __init__(self, store: Store, book: CaseBook, desk: CaseDesk, roles: Roles, threads: Threads, outbox: Outbox,
                 policies: Mapping[str, Policy], clock: Clock) -> None:
        if not policies:
            raise ValueError("at least one policy is needed")
        self.store = store
        self.book = book
        self.desk = desk
        self.roles = roles
        self.threads = threads
        self.outbox = outbox
        self.policies = dict(policies)
        self.clock = clock
        self.forms = Forms(self.policies)
        self.dialogs = Dialogs(store, clock)
        self._users = KeyedLocks()

    async def handle(self, event: Event, again: bool = False) -> list[Reply]:
        """Answer one event. A repeated event id (a platform retry, a form sent twice) has no second effect and no
        answer: a platform's re-delivery is not the person asking again (a channel may tell a double click apart).
        `again`: the inbox handling an accepted form once more (its effects are made once whatever happens, and
        its answers are wanted again).

        The dedupe record is kept for bot.jobs.expiry.RETENTION, far longer than any platform retries. It is written
        only when none was found, which the expiry sweep relies on (see bot/jobs/expiry.py).
        """
        # (a typed line waits for the same person's previous one, whose dialog it may answer; forms stand alone)
        async with self._users(event.user.key) if event.form is None else contextlib.nullcontext():
            if not self._repeat_matters(event):
                return await self._dispatch(event)
            if again:  # (the inbox's form: its effects are once-only by themselves; remembered once made)
                replies = await self._dispatch(event)
                if _had_effect(replies):
                    await self.store.put(EVENTS, event.event_id, {"at": self.clock.now().isoformat()})
                return replies
            # Taken first, atomically: the same request reaching two replicas at once (or this one twice) is
            # handled by whichever takes it. Given back if it had no effect (a refusal, a mistake: the same words,
            # corrected or sent by someone entitled, must still work) or if handling it failed.
            if not await self.store.create(EVENTS, event.event_id, {"at": self.clock.now().isoformat()}):
                log.info("duplicate event ignored")
                return []
            try:
                replies = await self._dispatch(event)
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.store.delete(EVENTS, event.event_id))
                raise
            if not _had_effect(replies):
                await self.store.delete(EVENTS, event.event_id)
            return replies

    def _repeat_matters(self, event: Event) -> bool:
        """Whether a repeat of this event (a platform's retry, a replay, after a restart too) must be looked for: a
        form with effects, or a command with effects (a dialog's answer, too). Opening a form, asking for help or a
        status has none, and costs nothing to repeat: /escalate's hot path reads nothing."""
        if not event.event_id:
            return False
        if event.form is not None:
            return event.step != "start"
        return commands.read(event.text).command in commands.WITH_EFFECTS or not self.channel(event).forms

    async def check(self, event: Event) -> dict[str, str]:
        """Problems with a submitted form, per question id, without storing anything (so a channel can show them
        before it acknowledges the form, as Slack must)."""
        if event.form is None:
            return {}
        today = london_today(self.clock.now())
        if event.step == "start":
            return self.forms.check_start(event.form)[1]
        if event.step == "action":
            found = await self.desk.entitled(event.user, event.case_ref, event.stage) \
                if event.action in actions.ACTIONS else None
            if found is None or self.desk.refusal(event.action, *found, event.stage) is not None:
                return {}  # refused when it is handled, with the reason (and so not asked to correct it first)
            case, policy = found
            outcome = self.forms.check_action(event.action, policy, event.stage or stage_now(case), event.form,
                                              today)
        else:
            chosen = self.forms.policy_of(event.policy or str(event.form.get("policy") or ""))
            if chosen is None:  # out of date (told when it is handled), or the partnership not chosen
                return {} if event.step == "intake" else {"policy": "Please choose the partnership."}
            outcome = self.forms.check_intake(chosen, event.form, today, self._ask_raiser(event.user),
                                              event.step == "intake")
        return dict(outcome.says[0].errors) if outcome.effect == "invalid" else {}

    def channel(self, event: Event) -> ChannelInfo:
        return self.outbox.info(event.user.channel)

    def _ask_raiser(self, user: UserRef) -> bool:
        """Whether the Stage 1 questions must ask who the raiser is (the directory cannot say)."""
        return self.roles.person(user) is None and len(self.roles.people.directory) > 0

    # --- typed lines --------------------------------------------------------------------------------------------
    async def _dispatch(self, event: Event) -> list[Reply]:
        if event.form is not None:
            return await self._submitted(event)
        line = commands.read(event.text)
        if not self.channel(event).forms:
            key = self.dialogs.key(event.user, event.thread)
            dialog = await self.dialogs.get(key)
            if dialog is not None and dialog.get("step") == "done":
                # A restart interrupted opening this dialog's case: finish that first, exactly once.
                return [await self._finish(key, dialog, event), *await self._dispatch(event)]
            if dialog is not None:
                return await self._mid_dialog(key, dialog, line, event)
        return await self._command(line, event)

    async def _command(self, line: Line, event: Event) -> list[Reply]:
        info = self.channel(event)
        if line.command in ("", "help"):
            return [Reply(commands.help_text(info.command, info.help_note, info.forms), kind=Kind.HELP)]
        if commands.on_case(line):
            return await self._case_command(line, event)
        if line.command == "escalate":
            return await self._start(event)
        if line.command == "summary":
            return [await self.summary(event.user, line.words)]
        if line.command == "cancel":
            return [Reply("There is nothing to cancel. Type escalate to start.")]
        return [Reply("Sorry, I did not understand that. Type escalate to start, or help to see what I can do.")]

    async def _start(self, event: Event) -> list[Reply]:
        if self.channel(event).forms:
            return [Reply("Escalate a professional disagreement", kind=Kind.FORM, form=self.forms.start,
                          private=True)]
        outcome = intake.start(self.policies, self.clock.now().isoformat(), ask_raiser=self._ask_raiser(event.user))
        await self.dialogs.save(self.dialogs.key(event.user, event.thread), outcome.state or {})
        return replies_of(outcome)

    async def _case_command(self, line: Line, event: Event) -> list[Reply]:
        if not line.ref:
            usage = " ".join(w for w in (self.channel(event).command, line.command) if w)
            return [Reply(f"Which case? Type {usage} REF, with the case reference (e.g. ESC-2026-0001).")]
        if not is_ref(line.ref):
            return [Reply("That is not a case reference; they look like ESC-2026-0001.")]
        if line.command == "status":
            return [await self.desk.status(event.user, line.ref)]
        if line.command == "record":
            return [await self.record(event.user, line.ref, line.rest.strip() or "record")]
        if line.command in ("harm", "done", "contact"):
            return [await self.desk.simple(event.user, line.ref, line.command, line.rest)]
        return [await self._action(line.command, line.ref, event)]

    async def _action(self, action: str, ref: str, event: Event) -> Reply:
        """The questions for resolve / escalate / extend (a form, or the first question), or why not."""
        found = await self.desk.find(event.user, ref, event.stage, doing=action)
        if isinstance(found, Reply):
            return found
        case, policy = found
        refused = self.desk.refusal(action, case, policy, event.stage)
        if refused is not None:
            return refused
        stage = stage_now(case)
        form = self.forms.action(action, policy, case["ref"], stage)
        if self.channel(event).forms:
            return Reply(form.intro, kind=Kind.FORM, form=form, case_ref=case["ref"], stage=stage)
        outcome = actions.start(action, case["ref"], policy, stage, f"{form.intro}. Type cancel to stop.")
        await self.dialogs.save(self.dialogs.key(event.user, event.thread), outcome.state or {})
        return replies_of(outcome, case["ref"])[0]

    # --- a dialog in progress (channels of plain words) ---------------------------------------------------------
    async def waiting(self, user: UserRef, thread: ThreadRef) -> Reply | None:
        """The question a person's unfinished questions wait on (to show again when they come back), or None."""
        dialog = await self.dialogs.get(self.dialogs.key(user, thread))
        question = current_question(dialog, self.policies) if dialog and dialog.get("step") != "done" else None
        if question is None:
            return None
        return Reply("You were answering questions; your answers so far are kept. The question was:", question)

    async def _mid_dialog(self, key: str, dialog: dict[str, Any], line: Line, event: Event) -> list[Reply]:
        if line.command == "escalate" and not line.ref:
            question = current_question(dialog, self.policies)
            return [Reply("You are already answering questions. Answer below, or type cancel.", question)]
        if commands.on_case(line) and is_ref(line.ref):
            return await self._command_mid_dialog(key, dialog, line, event)
        return await self._answer(key, dialog, event)

    async def _command_mid_dialog(self, key: str, dialog: dict[str, Any], line: Line, event: Event) -> list[Reply]:
        """A case command typed while questions are being asked is never taken as an answer. One that answers at
        once (status, record, harm, done, contact) is done, and the question asked again; one that asks its own
        questions (resolve, escalate, extend) waits until these are finished or cancelled."""
        question = current_question(dialog, self.policies)
        if line.command in commands.ONE_SHOT:
            replies = await self._case_command(line, event)
            return [*replies, Reply("Your answers so far are kept. The question was:", question)]
        return [Reply(f"You are in the middle of answering questions, so \"{line.command} {line.ref}\" was not "
                      "taken as an answer. Answer the question below, or type cancel and then send it again.",
                      question, kind=Kind.INVALID)]

    async def _answer(self, key: str, dialog: dict[str, Any], event: Event) -> list[Reply]:
        today = london_today(self.clock.now())
        if dialog.get("dialog") == actions.DIALOG:
            outcome = actions.handle_text(dialog, event.text, self.policies, today)
            if outcome.effect == "apply":
                await self.dialogs.forget(key)
                return await self._act(event, dialog["action"], dialog["ref"], dialog["expected_stage"],
                                       outcome.answers)
            return await self._next(key, outcome, dialog.get("ref", ""))
        outcome = intake.handle_text(dialog, event.text, self.policies, today)
        if outcome.effect == "open_case":
            assert outcome.state is not None
            await self.dialogs.save(key, outcome.state)
            return [await self._finish(key, outcome.state, event)]
        if outcome.effect == "immediate_harm":
            reply = await self.desk.emergency(self.dialogs.idem(key, dialog), self.policies[outcome.policy_id],
                                              event.user, event.thread)
            await self.dialogs.forget(key)
            return [reply]
        return await self._next(key, outcome)

    async def _next(self, key: str, outcome: Outcome, case_ref: str = "") -> list[Reply]:
        if outcome.state is None:
            await self.dialogs.forget(key)
        else:
            await self.dialogs.save(key, outcome.state)
        return replies_of(outcome, case_ref)

    async def _finish(self, key: str, dialog: Mapping[str, Any], event: Event) -> Reply:
        """Open the case a completed dialog describes (exactly once), then forget the dialog."""
        reply = await self._open(self.dialogs.idem(key, dialog), self.policies[dialog["policy"]], dialog["answers"],
                                 event)
        await self.dialogs.forget(key)
        return reply

    # --- forms sent back ----------------------------------------------------------------------------------------
    async def _submitted(self, event: Event) -> list[Reply]:
        assert event.form is not None
        if event.step == "action" or event.action:
            return await self._action_sent(event)
        if event.step == "start":
            return [await self._start_sent(event)]
        policy = self.forms.policy_of(event.policy or str(event.form.get("policy") or ""))
        if policy is None and event.step == "intake":  # (a procedure no longer run here)
            return [Reply(OUT_OF_DATE, kind=Kind.REFUSED)]
        if policy is None:
            return [Reply("Please choose the partnership.", kind=Kind.INVALID, form=self.forms.start,
                          errors={"policy": "Please choose the partnership."}, private=True)]
        ask_raiser = self._ask_raiser(event.user)
        outcome = self.forms.check_intake(policy, event.form, london_today(self.clock.now()), ask_raiser,
                                          event.step == "intake")
        idem = self._form_idem(event)
        if outcome.effect == "immediate_harm":
            return [await self.desk.emergency(idem, policy, event.user, event.thread)]
        if outcome.effect == "open_case":
            return [await self._open(idem, policy, outcome.answers, event)]
        return [Reply(say.text, kind=Kind.INVALID, errors=say.errors, form=self.forms.intake(policy, ask_raiser),
                      private=True) for say in outcome.says]

    def _form_idem(self, event: Event) -> str:
        return f"form:{event.event_id or event.user.key + ':' + self.clock.now().isoformat()}"

    def next_form(self, event: Event) -> Reply | None:
        """The first step answered "no immediate risk": the rest of the questions, at once and with nothing stored
        (None for any other answer, which must be handled)."""
        policy, errors = self.forms.check_start(event.form or {})
        if errors or policy is None or (event.form or {}).get("immediate_risk") not in ("no", False):
            return None
        return Reply("The Stage 1 questions", kind=Kind.FORM, form=self.forms.intake(policy, self._ask_raiser(
            event.user)), private=True)

    async def form_for(self, event: Event) -> Form | None:
        """The form a submitted event answered, to show again with its problems (None if it cannot be made)."""
        if event.step == "start":
            return self.forms.start
        if event.step == "action":
            found = await self.desk.entitled(event.user, event.case_ref, event.stage) \
                if event.action in actions.ACTIONS else None
            if found is None or found[0].get("stage") is None:
                return None
            case, policy = found
            return self.forms.action(event.action, policy, case["ref"], event.stage or stage_now(case))
        chosen = self.forms.policy_of(event.policy or str((event.form or {}).get("policy") or ""))
        return self.forms.intake(chosen, self._ask_raiser(event.user)) if chosen is not None else None

    async def refused(self, event: Event) -> Reply | None:
        """Why an action form sent back cannot be applied at all (nobody entitled, out of date, the case moved on),
        to be said at once with nothing stored; None if it may be. A refusal of who is asking is audited."""
        if event.step != "action" and not event.action:
            return None
        if event.action not in actions.ACTIONS or not is_ref(event.case_ref):
            known = event.action if event.action in actions.ACTIONS else "an action"  # (never what was sent)
            await self.desk.refused(event.user, f"{known} form")
            return Reply(OUT_OF_DATE, kind=Kind.REFUSED)
        found = await self.desk.find(event.user, event.case_ref, event.stage, doing=event.action)
        if isinstance(found, Reply):
            return found
        return self.desk.refusal(event.action, *found, event.stage)

    def route(self, event: Event) -> str:
        """The emergency route for the first step answered "yes" (what to show at once, before it is recorded)."""
        policy, _ = self.forms.check_start(event.form or {})
        return messages.emergency_route(policy) if policy is not None else ""

    async def _start_sent(self, event: Event) -> Reply:
        """The first step: the partnership and the immediate-risk question. A yes gives the emergency route at once
        (recorded once however often the form is sent); a no gives the rest of the questions."""
        assert event.form is not None
        policy, errors = self.forms.check_start(event.form)
        if errors or policy is None:
            return Reply("Some answers need another look.", kind=Kind.INVALID, form=self.forms.start, errors=errors,
                         private=True)
        if event.form.get("immediate_risk") in ("yes", True):
            return await self.desk.emergency(self._form_idem(event), policy, event.user, event.thread)
        return Reply("The Stage 1 questions", kind=Kind.FORM, form=self.forms.intake(policy, self._ask_raiser(
            event.user)), private=True)

    async def _action_sent(self, event: Event) -> list[Reply]:
        assert event.form is not None
        if event.action not in actions.ACTIONS or not is_ref(event.case_ref):
            return [Reply(OUT_OF_DATE, kind=Kind.REFUSED)]
        found = await self.desk.find(event.user, event.case_ref, event.stage, doing=event.action)
        if isinstance(found, Reply):
            return [found]
        case, policy = found
        if event.event_id and CaseDesk.applied(case, event.event_id):  # (this form, handled again: as it was)
            return await self._act(event, event.action, case["ref"], event.stage, {})
        refused = self.desk.refusal(event.action, case, policy, event.stage)
        if refused is not None:
            return [refused]
        checked = self.forms.check_action(event.action, policy, event.stage or stage_now(case), event.form,
                                          london_today(self.clock.now()))
        if checked.effect != "apply":
            form = self.forms.action(event.action, policy, case["ref"], event.stage or stage_now(case))
            return [Reply(say.text, kind=Kind.INVALID, errors=say.errors, form=form, case_ref=case["ref"])
                    for say in checked.says]
        return await self._act(event, event.action, case["ref"], event.stage, checked.answers)

    # --- effects ------------------------------------------------------------------------------------------------
    async def _open(self, idem: str, policy: Policy, answers: Mapping[str, Any], event: Event) -> Reply:
        """Open the case, start its thread (now if it can be; else it is tried again), and say so."""
        info = self.channel(event)
        home = ThreadRef(event.thread.channel, info.cases_place or event.thread.conversation) if info.roots \
            else event.thread
        case, reply = await self.desk.open_case(idem, policy, answers, event.user, home, event.thread, info.roots)
        if not info.roots:
            return reply
        started = await self.threads.start(case["ref"], wait=WAIT)
        if started.ok:
            where = ("Its thread is in the cases channel: updates and reminders will be posted there."
                     if info.cases_place else "Updates and reminders about it will come to your private chat with me.")
        else:
            log.warning("case %s: its thread is not started yet; it is tried again", case["ref"])
            where = (f"(The case's thread could not be started yet: {started.error or 'no answer yet'}. It will be "
                     "tried again in a few minutes, and before any reminder.)")
        return Reply(f"{reply.text}\n{where}", kind=reply.kind, case_ref=reply.case_ref, stage=reply.stage)

    async def _act(self, event: Event, action: str, ref: str, stage: int | None,
                   answers: Mapping[str, Any]) -> list[Reply]:
        reply = await self.desk.perform(event.user, action, ref, stage, answers, event.event_id)
        if reply.kind not in ACTED:
            return [reply]
        told = await self._tell_thread(reply, event)
        if told.ok:
            return [reply]
        log.warning("case %s: update not yet posted to its thread (%s)", reply.case_ref, told.error)
        return [reply, Reply(f"{reply.case_ref}: this is recorded, but it is not in the case's thread yet "
                             f"({told.error or 'no answer yet'}). It will be posted there as soon as it can be, and "
                             "you will be told if it cannot be.", kind=Kind.NOT_POSTED, case_ref=reply.case_ref)]

    async def _tell_thread(self, reply: Reply, event: Event) -> Sent:
        """Post a case change into the case's own thread too (so the raiser is told), if it happened elsewhere; how
        that stood after a short wait (it is delivered later if not at once)."""
        case = await self.book.get(reply.case_ref)
        if case is None or thread_of(case) == event.thread:
            return Sent("sent")
        key = f"case:{event.event_id}" if event.event_id else f"case:{reply.case_ref}:{uuid.uuid4().hex}"
        return await self.threads.send(key, reply, case=reply.case_ref, notify=event.reply_to, wait=WAIT)

    # --- one-shot answers ---------------------------------------------------------------------------------------
    async def record(self, user: UserRef, ref: str, kind: str = "record") -> Reply:
        """A case's written record (DOCX) for an entitled person, as a private reply: channels send it only to them."""
        found = await download(self.desk, self.store, user, ref, kind, self.clock.now())
        if isinstance(found, Reply):
            return found
        return Reply(sent_text(found), kind=Kind.RECORD, case_ref=ref.upper(), private=True,
                     attachment=Attachment(found.filename, found.content, found.mime))

    async def summary(self, user: UserRef, args: str = "") -> Reply:
        """The weekly summary, for safeguarding leads (and partnership contacts) only: `summary [YYYY-Www]`."""
        me = self.roles.is_lead(user)
        if me is None:
            await self.desk.refused(user, "summary")
            return Reply("Sorry, the weekly summary is for safeguarding leads. Ask your designated safeguarding "
                         "lead, or ask for your entry in the bot's directory to be updated.", kind=Kind.REFUSED)
        served = [pid for pid in self.policies if self.roles.people.directory.serves(me, pid)]
        if not served:
            await self.desk.refused(user, "summary")
            return Reply("Sorry, you are not listed as a lead for any partnership this bot runs.", kind=Kind.REFUSED)
        today = london_today(self.clock.now())
        try:
            monday = figures.parse_week(args) if args.strip() else figures.last_full_week(today)
        except ValueError:  # (what was typed is never repeated)
            return Reply("Sorry, that is not a week: a week is written YYYY-Www, e.g. 2026-W48. Type summary for "
                         "last week's.")
        mine = {pid: self.policies[pid] for pid in served}  # every partnership this lead serves, and only those
        scope = " and ".join(p.name for p in mine.values()) if len(mine) < len(self.policies) else ""
        cases = await self.book.for_summary(figures.summary_window(monday))
        # (figures and chart off the event loop: the answers to everyone else do not wait for them)
        reply, _ = await asyncio.to_thread(compose, cases, mine, monday, scope=scope)
        return reply


def _had_effect(replies: list[Reply]) -> bool:
    """Whether answering changed anything (a refusal, a problem with the answers, a status changed nothing)."""
    return not all(r.errors or r.kind in NO_EFFECT for r in replies)

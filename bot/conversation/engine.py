"""The conversation core: adapters hand it neutral Events; dialogs decide; it stores, and returns Replies."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import time
from typing import Any

from bot.cases import messages, workflow
from bot.cases.desk import CaseDesk
from bot.dates.clock import Clock
from bot.dates.workdays import london_today
from bot.jobs import weekly
from bot.jobs.agenda import Agenda
from bot.jobs.expiry import EVENTS, DailySweep
from bot.jobs.outbox import Outbox, SendError
from bot.jobs.scheduler import Scheduler
from bot.people.directory import Directory
from bot.summary import figures as summary
from bot.types import Attachment, Event, Reply, ThreadRef, UserRef
from dialogs import actions, intake
from policies.model import Policy
from storage.base import Store

log = logging.getLogger(__name__)
REF_PATTERN = re.compile(r"^ESC-\d{4}-\d{4,}$", re.IGNORECASE)
CASE_COMMANDS = ("status", "resolve", "escalate", "extend", "harm", "done", "contact", "record")
ONE_SHOT_COMMANDS = ("status", "record", "harm", "done", "contact")  # answered at once, no questions of their own


class Engine:
    """One conversation core behind every channel. Events from one user are handled one at a time."""

    def __init__(
        self,
        store: Store,
        policies: Mapping[str, Policy],
        clock: Clock,
        *,
        directory: Directory | None = None,
        outbox: Outbox | None = None,
        send_time: time = time(9, 0),
        review_days: int = 10,
    ) -> None:
        if not policies:
            raise ValueError("at least one policy is needed")
        self.store = store
        self.policies = dict(policies)
        self.clock = clock
        self.directory = directory or Directory([])
        self.outbox = outbox or Outbox()
        self.scheduler = Scheduler(store, self.policies, clock, self.outbox, Agenda(store),
                                   lambda p, c: self.desk.addressees(p, c),
                                   send_time=send_time, review_days=review_days)
        self.desk = CaseDesk(store, self.policies, clock, self.scheduler, lambda: self.directory)
        self.weekly = weekly.WeeklyPoster(store, self.policies, self.outbox, None)
        self.dedupe = DailySweep(store)  # the scheduler loop expires old dedupe records and unfinished forms here
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def handle(self, event: Event) -> list[Reply]:
        """Answer one event. A repeated event id (a platform retry) has no second effect.

        The dedupe record is kept for bot.jobs.expiry.RETENTION, far longer than any platform retries. It is written
        only when none was found, which the expiry sweep relies on (see bot/dedupe.py).
        """
        async with self._lock(event.user.key):
            if event.event_id and await self.store.get(EVENTS, event.event_id) is not None:
                log.info("duplicate event ignored")
                return []
            replies = await self._dispatch(event)
            if event.event_id and not all(r.errors or r.kind == "refused" for r in replies):
                # (a refused or invalid submit changed nothing: the same form, corrected or sent by someone
                # entitled, must still work, so only an event that had an effect is remembered)
                await self.store.put(EVENTS, event.event_id, {"at": self.clock.now().isoformat()})
            return replies

    async def _dispatch(self, event: Event) -> list[Reply]:
        key = dialog_key(event.user, event.thread)
        dialog = await self.store.get("dialogs", key)
        if dialog is not None and dialog.get("step") == "done":
            # A restart interrupted opening this dialog's case: finish that first, exactly once.
            finished = await self._finish(key, dialog, event)
            return [finished, *await self._dispatch(event)]
        if event.form is not None:
            return await self._submit_form(event)
        command, rest = split_command(event.text)
        if command == "escalate" and not rest:
            if dialog is not None:
                question = current_question(dialog, self.policies)
                return [Reply("You are already answering questions. Answer below, or type cancel.", question)]
            unknown = self.desk.person(event.user) is None and len(self.directory) > 0
            outcome = intake.start(self.policies, self.clock.now().isoformat(), ask_raiser=unknown)
            await self._save_dialog(key, outcome.state or {})
            return list(outcome.replies)
        if command == "escalate" and not REF_PATTERN.match(rest.split(" ")[0]):
            command, rest = split_command(rest)  # Slack's "/escalate status REF"
        if dialog is not None and command in CASE_COMMANDS and REF_PATTERN.match(rest.split(" ")[0]):
            return await self._command_mid_dialog(key, dialog, command, rest, event)
        if dialog is not None:
            return await self._answer(key, dialog, event)
        if command in ("help", "?", ""):
            return [Reply(messages.HELP)]
        if command in CASE_COMMANDS:
            return await self._case_command(key, command, rest, event)
        if command == "summary":
            return [await self.summary(event.user, rest)]
        if command in intake.CANCEL_WORDS:
            return [Reply("There is nothing to cancel. Type escalate to start.")]
        return [Reply("Sorry, I did not understand that. Type escalate to start, or help to see what I can do.")]

    async def _save_dialog(self, key: str, state: Mapping[str, Any]) -> None:
        """Keep a dialog's state, stamped with when it was last touched (bot.jobs.expiry expires abandoned ones)."""
        await self.store.put("dialogs", key, {**state, "touched_at": self.clock.now().isoformat()})

    async def _command_mid_dialog(self, key: str, dialog: dict[str, Any], command: str, rest: str,
                                  event: Event) -> list[Reply]:
        """A case command typed while questions are being asked is never taken as an answer. One that answers at
        once (status, record, harm, done, contact) is done, and the question asked again; one that asks its own
        questions (resolve, escalate, extend) waits until these are finished or cancelled."""
        question = current_question(dialog, self.policies)
        if command in ONE_SHOT_COMMANDS:
            replies = await self._case_command(key, command, rest, event)
            return [*replies, Reply("Your answers so far are kept. The question was:", question)]
        return [Reply(f"You are in the middle of answering questions, so \"{command} {rest.split(' ')[0]}\" was not "
                      "taken as an answer. Answer the question below, or type cancel and then send it again.",
                      question, kind="invalid")]

    async def _case_command(self, key: str, command: str, rest: str, event: Event) -> list[Reply]:
        ref, _, arg = rest.partition(" ")
        if not ref:
            return [Reply(f"Which case? For example: {command} ESC-2026-0001")]
        if not REF_PATTERN.match(ref):
            return [Reply(f"{ref} is not a case reference; they look like ESC-2026-0001.")]
        if command == "status":
            return [await self.desk.status(event.user, ref)]
        if command == "record":
            return [await self.record(event.user, ref, arg.strip() or "record")]
        if command in ("harm", "done", "contact"):
            return [await self.desk.simple(event.user, ref, command, arg)]
        form = await self.action_form(event.user, command, ref, None)
        if form.kind != "form":
            return [form]
        policy = self.policies[(await self.store.get("cases", form.case_ref) or {})["policy"]]
        assert form.stage is not None
        intro = f"{form.text}. Type cancel to stop."
        outcome = actions.start(command, form.case_ref, policy, form.stage, intro)
        await self._save_dialog(key, outcome.state or {})
        return list(outcome.replies)

    async def _answer(self, key: str, dialog: dict[str, Any], event: Event) -> list[Reply]:
        today = london_today(self.clock.now())
        if dialog.get("dialog") == actions.DIALOG:
            outcome = actions.handle_text(dialog, event.text, self.policies, today)
            if outcome.effect == "apply":
                await self.store.delete("dialogs", key)
                return await self._act(event, dialog["action"], dialog["ref"], dialog["expected_stage"],
                                       outcome.answers)
        else:
            outcome = intake.handle_text(dialog, event.text, self.policies, today)
            if outcome.effect == "open_case":
                assert outcome.state is not None
                await self._save_dialog(key, outcome.state)
                return [await self._finish(key, outcome.state, event)]
            if outcome.effect == "immediate_harm":
                policy = self.policies[outcome.policy_id]
                reply = await self.desk.emergency(_idem(key, dialog), policy, event.user, event.thread)
                await self.store.delete("dialogs", key)
                return [reply]
        if outcome.state is None:
            await self.store.delete("dialogs", key)
        else:
            await self._save_dialog(key, outcome.state)
        return list(outcome.replies)

    async def _act(self, event: Event, action: str, ref: str, stage: int | None,
                   answers: Mapping[str, Any]) -> list[Reply]:
        reply = await self.desk.perform(event.user, action, ref, stage, answers)
        if reply.kind == action and not await self._tell_thread(reply, event):
            return [reply, Reply(f"{reply.case_ref}: this is recorded, but it could not be posted in the case's "
                                 "thread, so the people involved have not been told there yet: please tell them "
                                 "directly. Reminders still go to the thread.", kind="not_posted",
                                 case_ref=reply.case_ref)]
        return [reply]

    async def _tell_thread(self, reply: Reply, event: Event) -> bool:
        """Post a case change into the case's own thread too (so the raiser is told), if it happened elsewhere.

        False if that post failed (the caller tells the person who acted)."""
        case = await self.store.get("cases", reply.case_ref)
        if case is None:
            return True
        thread = ThreadRef.from_dict(case["thread"])
        if thread == event.thread:
            return True
        try:
            await self.outbox.send(thread, reply)
        except SendError as exc:
            log.warning("case %s: update not posted to its thread (%s)", reply.case_ref, exc)
            return False
        return True

    async def _finish(self, key: str, dialog: Mapping[str, Any], event: Event) -> Reply:
        """Open the case a completed dialog describes (exactly once), then forget the dialog."""
        policy = self.policies[dialog["policy"]]
        reply = await self.desk.open_case(_idem(key, dialog), policy, dialog["answers"], event.user, event.thread)
        await self.store.delete("dialogs", key)
        return reply

    async def _submit_form(self, event: Event) -> list[Reply]:
        assert event.form is not None
        today = london_today(self.clock.now())
        if event.action:
            found = await self.desk.find(event.user, event.case_ref, event.stage)
            if isinstance(found, Reply):
                return [found]
            case, policy = found
            if event.action not in actions.ACTIONS:
                return [Reply(f"{event.action!r} is not something that can be done to a case.", kind="refused")]
            checked = actions.check_form(event.action, policy, event.stage or case["stage"], event.form, today)
            if checked.effect != "apply":
                return list(checked.replies)
            return await self._act(event, event.action, case["ref"], event.stage, checked.answers)
        form = dict(event.form)
        if len(self.policies) == 1:
            policy = next(iter(self.policies.values()))
        elif str(form.get("policy") or "") in self.policies:
            policy = self.policies[str(form["policy"])]
        else:
            question = intake.policy_question(self.policies)
            return [Reply("Please choose the partnership.", form=(question,), errors={"policy": "Required."})]
        ask_raiser = self.desk.person(event.user) is None and len(self.directory) > 0
        outcome = intake.submit_form(policy, form, today, ask_raiser)
        idem = f"form:{event.event_id or event.user.key + ':' + self.clock.now().isoformat()}"
        if outcome.effect == "immediate_harm":
            return [await self.desk.emergency(idem, policy, event.user, event.thread)]
        if outcome.effect == "open_case":
            return [await self.desk.open_case(idem, policy, outcome.answers, event.user, event.thread)]
        return list(outcome.replies)


    async def record(self, user: UserRef, ref: str, kind: str = "record") -> Reply:
        """A case's written record (DOCX) for an entitled person, as a private reply: channels send it only to them."""
        from bot.records.download import download, sent_text

        found = await download(self, user, ref, kind)
        if isinstance(found, Reply):
            return found
        return Reply(sent_text(found), kind="record", case_ref=ref.upper(), private=True,
                     attachment=Attachment(found.filename, found.content, found.mime))

    async def summary(self, user: UserRef, args: str = "") -> Reply:
        """The weekly summary, for safeguarding leads (and partnership contacts) only: `summary [YYYY-Www]`."""
        me = self.desk.person(user)
        if me is None or not ("safeguarding_lead" in me.contact_for or me.tier == "partnership"):
            return Reply("Sorry, the weekly summary is for safeguarding leads. Ask your designated safeguarding "
                         "lead, or ask for your entry in the bot's directory to be updated.", kind="refused")
        served = [pid for pid in self.policies if self.directory.serves(me, pid)]
        if not served:
            return Reply("Sorry, you are not listed as a lead for any partnership this bot runs.", kind="refused")
        today = london_today(self.clock.now())
        try:
            monday = summary.parse_week(args) if args.strip() else summary.last_full_week(today)
        except ValueError as exc:
            return Reply(f"Sorry, {exc}. Type summary for last week's.")
        mine = {pid: self.policies[pid] for pid in served}  # every partnership this lead serves, and only those
        scope = " and ".join(p.name for p in mine.values()) if len(mine) < len(self.policies) else ""
        reply, _ = await weekly.compose(self.store, mine, monday, scope=scope)
        return reply

    # --- for form-based channels (Slack modals, Teams cards) ---------------------------------------------------
    def intake_questions(self, user: UserRef, policy_id: str) -> tuple[Policy, list[Any]] | None:
        """The Stage 1 questions a form shows this user (who they are is asked if the directory cannot say)."""
        policy = self.policies.get(policy_id)
        if policy is None:
            return None
        ask_raiser = self.desk.person(user) is None and len(self.directory) > 0
        return policy, intake.ordered_questions(policy, ask_raiser)

    def validate_form(self, event: Event) -> Mapping[str, str]:
        """Errors per question id for a submitted form, without storing anything (so a modal can show them at once)."""
        assert event.form is not None
        today = london_today(self.clock.now())
        if event.action:
            return {}  # action forms are checked against the stored case in handle()
        policy = self.policies.get(str(event.form.get("policy") or "")) or (
            next(iter(self.policies.values())) if len(self.policies) == 1 else None)
        if policy is None:
            return {"policy": "Please choose the partnership."}
        ask_raiser = self.desk.person(event.user) is None and len(self.directory) > 0
        outcome = intake.submit_form(policy, event.form, today, ask_raiser)
        return outcome.replies[0].errors if outcome.effect == "invalid" else {}

    async def action_form(self, user: UserRef, action: str, ref: str, stage: int | None) -> Reply:
        """The questions for acting on a case (kind "form"), or a refusal saying why not (kind "refused")."""
        found = await self.desk.find(user, ref, stage)
        if isinstance(found, Reply):
            return found
        case, policy = found
        try:
            workflow.check_open(case, policy, stage)
        except workflow.Refused as refused:
            return Reply(str(refused), kind="refused", case_ref=case["ref"])
        if action not in actions.ACTIONS:
            return Reply(f"{action!r} is not something that can be done to a case.", kind="refused")
        if action == "escalate" and policy.next_stage(case["stage"]) is None:
            return Reply(f"{case['ref']} is already at the final stage ({policy.stage_title(case['stage'])}): "
                         f"{policy.final_stage.description} Record its decision with resolve.",
                         kind="refused", case_ref=case["ref"])
        if action == "extend" and not policy.extension.allows(case["stage"]):
            return Reply(f"{case['ref']}: {workflow.extension_refused(policy, case['stage'])}",
                         kind="refused", case_ref=case["ref"])
        title = f"{action.capitalize()} {case['ref']} ({policy.stage_title(case['stage'])})"
        return Reply(title, form=actions.questions(action, policy, case["stage"]), kind="form",
                     case_ref=case["ref"], stage=case["stage"])

    async def set_thread(self, ref: str, thread: ThreadRef) -> None:
        """Where a case's messages go from now on (a channel adapter posts the root message, then records it)."""

        def change(case: dict[str, Any] | None) -> dict[str, Any]:
            if case is None:
                raise KeyError(ref)
            return {**case, "thread": thread.to_dict()}

        await self.store.update("cases", ref, change)

    async def threads_not_started(self, channel: str) -> list[tuple[str, ThreadRef]]:
        """Open cases on `channel` whose thread has no root message yet (its post failed): (ref, thread) pairs."""
        out = []
        for ref, case in await self.store.scan("cases"):
            thread = ThreadRef.from_dict(case["thread"]) if case.get("thread") else None
            if case.get("status") == "open" and thread is not None and thread.channel == channel and not thread.thread:
                out.append((ref, thread))
        return out

    async def case_thread(self, ref: str) -> ThreadRef | None:
        """Where a case's messages go now (None if there is no such case)."""
        case = await self.store.get("cases", ref)
        return None if case is None else ThreadRef.from_dict(case["thread"])

    async def root(self, ref: str) -> Reply:
        """A case's root message: its headline, mentioning whoever must act now while the case is open."""
        case = await self.store.get("cases", ref)
        if case is None:
            raise KeyError(ref)
        policy = self.policies[case["policy"]]
        mentions: tuple[str, ...] = ()
        if case.get("status") == "open":
            _names, mentions, _next = await self.desk.addressees(policy, case)
        return Reply(await self.root_text(ref), kind="root", case_ref=ref, mentions=mentions)

    async def root_text(self, ref: str) -> str:
        """A case's headline for its thread: reference, stage, due date, who must act; no child identifiers."""
        case = await self.store.get("cases", ref)
        if case is None:
            raise KeyError(ref)
        policy = self.policies[case["policy"]]
        return messages.root(policy, case, self.desk.counterparts(policy, case))


def current_question(dialog: Mapping[str, Any], policies: Mapping[str, Policy]) -> Any:
    if dialog.get("dialog") == actions.DIALOG:
        asked = actions.questions(dialog["action"], policies[dialog["policy"]], dialog["expected_stage"])
        return next((q for q in asked if q.id == dialog["step"]), None)
    return intake.current_question(dialog, policies)


def split_command(text: str) -> tuple[str, str]:
    command, _, rest = text.strip().lstrip("/").partition(" ")
    return command.lower(), rest.strip()


def _idem(key: str, dialog: Mapping[str, Any]) -> str:
    return f"dialog:{key}:{dialog.get('started_at')}"


def dialog_key(user: UserRef, thread: ThreadRef) -> str:
    """One dialog per user per conversation."""
    return f"{user.key}|{thread.channel}:{thread.conversation}"

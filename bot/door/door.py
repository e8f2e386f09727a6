"""The door: everything a channel may do with the core, and nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from bot.conversation.engine import Engine
from bot.conversation.inbox import Inbox
from bot.dates.clock import Clock
from bot.door.logs import log_context
from bot.door.state import ChannelState
from bot.jobs.expiry import DailySweep
from bot.jobs.outbox import ChannelInfo, Outbox, Sender
from bot.jobs.threads import Threads
from bot.jobs.work import Work
from bot.types import Event, Kind, Reply, ThreadRef, UserRef
from policies.model import Policy
from storage.base import Store


@dataclass(frozen=True)
class Submitted:
    """What the core made of a form sent back, before the platform is answered. Exactly one of:

    - `errors`: problems per question id (nothing was stored: show them on the form, which `form` holds again);
    - `refused`: why the form cannot be taken at all, to say at once (nothing was stored);
    - `form`: the next step's form, to show at once (nothing was stored);
    - `ticket`: the form is stored (accepted): answer the platform, then `Door.process(ticket)`; if the process
      stops first, it is handled all the same. `route` is the emergency route to show at once, when it is one.
    `again` is set when the same form was accepted before (a double submit): nothing more will happen."""

    errors: Mapping[str, str] = field(default_factory=dict)
    refused: Reply | None = None
    form: Reply | None = None
    ticket: str = ""
    route: str = ""
    again: bool = False


@asynccontextmanager
async def _logged(event: Event) -> AsyncIterator[None]:
    """Log lines while a form is taken carry its case and who sent it (bot.door.logs)."""
    with log_context(case=event.case_ref, actor=event.user.key):
        yield


class Door:
    """A channel connects here once (how it posts, what it is like) and then hands in Events and renders the Replies
    it gets back: typed text, a form sent back (`check` it first where the platform needs an answer at once), a
    button (the command it stands for, with the stage it was shown on)."""

    def __init__(self, engine: Engine, inbox: Inbox, outbox: Outbox, store: Store, clock: Clock, sweep: DailySweep,
                 threads: Threads, work: Work) -> None:
        self._engine = engine
        self._inbox = inbox
        self._threads = threads
        self._work = work
        self._outbox = outbox
        self._store = store
        self._clock = clock
        self._sweep = sweep

    def connect(self, info: ChannelInfo, sender: Sender) -> None:
        """Connect a channel: the core posts case threads and reminders through `sender`."""
        self._outbox.register(info, sender)

    def state(self, channel: str) -> ChannelState:
        """A channel's own state (its markers expire with the core's dedupe records)."""
        state = ChannelState(self._store, channel, self._clock)
        if state.marks not in self._sweep.collections:
            self._sweep.collections.append(state.marks)
        return state

    @property
    def overloaded(self) -> bool:
        """Too much work in flight to take a new request on: a channel answers "busy, try again shortly" (HTTP 503
        with Retry-After, or the platform's own way of saying it) before anything takes effect."""
        return self._work.overloaded

    def working(self) -> AbstractAsyncContextManager[None]:
        """Count the current task as work in flight while inside (what a channel does after answering the platform:
        a stop waits for it, and it counts towards `overloaded`)."""
        return self._work.running()

    async def handle(self, event: Event) -> list[Reply]:
        """What to show for what a person did, in order (typed words, a button; forms go through `submit`)."""
        async with self._work.running():
            with log_context(case=event.case_ref, actor=event.user.key):
                return await self._engine.handle(event)

    async def waiting(self, user: UserRef, thread: ThreadRef) -> Reply | None:
        """The question this person's unfinished questions wait on in `thread` (a channel of plain words shows it
        again when they come back), or None."""
        return await self._engine.waiting(user, thread)

    async def check(self, event: Event) -> Mapping[str, str]:
        """Problems with a submitted form, per question id; nothing is stored."""
        async with self._work.running():
            return await self._engine.check(event)

    async def submit(self, event: Event) -> Submitted:
        """A form sent back (it must have an event id): checked, then either answered at once or stored to be
        handled, before the channel answers the platform (see Submitted)."""
        async with self._work.running(), _logged(event):
            if event.step != "start" and await self._inbox.seen(event.event_id):
                return Submitted(ticket=event.event_id, again=True)  # (a double submit: once is enough)
            refused = await self._engine.refused(event)
            if refused is not None:
                return Submitted(refused=refused)
            errors = await self._engine.check(event)
            if errors:
                again = await self._engine.form_for(event)
                shown = Reply("Some answers need another look.", kind=Kind.INVALID, form=again, errors=errors,
                              private=event.step != "action") if again is not None else None
                return Submitted(errors=errors, form=shown)
            if event.step == "start" and (next_form := self._engine.next_form(event)) is not None:
                return Submitted(form=next_form)
            fresh = await self._inbox.accept(event)
            route = self._engine.route(event) if event.step == "start" else ""
            self._work.hold()  # (a stop waits for this task to handle it, after it answers the platform)
            return Submitted(ticket=event.event_id, route=route, again=not fresh)

    async def process(self, ticket: str) -> list[Reply]:
        """Handle a form `submit` stored. What the person and the case's thread are owed is delivered by the core
        (to the event's `reply_to`, and the thread); the replies come back for the channel to show what it may
        where the form was (that it was sent, the result on the message whose button opened it)."""
        async with self._work.running():
            return await self._inbox.process(ticket)

    async def send_later(self, to: ThreadRef, reply: Reply, key: str) -> None:
        """A reply the channel could not show in place: the core's outbox delivers it to `to`, retrying while it
        must (once per `key`)."""
        await self._threads.send(key, reply, to=to)

    async def deliver_waiting(self) -> None:
        """Deliver the messages waiting for what this process reaches now (a console session, as it starts)."""
        await self._threads.deliver_due()

    @property
    def procedures(self) -> Mapping[str, Policy]:
        """The procedures this deployment runs (for a greeting)."""
        return self._engine.policies

"""The inbox: a form that has effects (the Stage 1 form, an action on a case, the immediate-risk answer) is stored here
before the platform is told it was received, then handled; whatever stops the process meanwhile, it is handled
exactly once after (by the next scheduler pass: at once after a restart, since a claim left by a process that has
gone is taken over (bot.jobs.claims); with a store several processes share, when its lease runs out).

Handling is repeatable without a second effect: a case is opened once per form (its opening key), an action applied
once per form (its audit entry names the form), the immediate-harm record made once. What the person is owed (their
case reference, an answer, a refusal) and the message for the case's thread go through the outbox under keys made
from the form's id, so handling a form again never sends them twice. Only then is the form taken out of the inbox.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from bot.conversation.engine import Engine
from bot.dates.clock import Clock
from bot.jobs.claims import Claimer
from bot.jobs.threads import Threads
from bot.types import ACTED, Event, Kind, Reply
from storage.base import Doc, Store
from storage.collections import EVENTS, INBOX

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=1)  # a form being handled that long is taken to have died with its process
FRESH = timedelta(seconds=30)  # a form accepted this recently by a process still running is left to that process
#                                (its channel handles it and shows the person the outcome in place)


class _Busy(Exception):
    """Not claimed: handled already, or being handled (by this process or another)."""


class Inbox:
    def __init__(self, store: Store, clock: Clock, engine: Engine, threads: Threads,
                 claimer: Claimer | None = None) -> None:
        self.claimer = claimer or Claimer(exclusive=store.exclusive)
        self.store = store
        self.clock = clock
        self.engine = engine
        self.threads = threads

    async def accept(self, event: Event) -> bool:
        """Keep a submitted form until it is handled; False if it was accepted before (or already handled)."""
        if not event.event_id:
            raise ValueError("a form needs an event id to be accepted")
        if await self.store.get(EVENTS, event.event_id) is not None:
            return False
        return await self.store.create(INBOX, event.event_id, {"event": event.to_dict(), "status": "waiting",
                                                               "at": self.clock.now().isoformat(),
                                                               "accepted_by": self.claimer.name})

    async def process(self, ticket: str) -> list[Reply]:
        """Handle an accepted form (nothing if it is handled already, or being handled): its effect, then what is
        owed queued in the outbox, then the form taken out. The replies, for the channel to show what it may."""
        event = await self._claim(ticket)
        if event is None:
            return []
        try:
            replies = await self.engine.handle(event, again=True)
            await self._owe(event, replies)
        except BaseException:
            await self._release(ticket)  # (handled again by the next try: the same form sent again, or a pass)
            raise
        finally:
            self.claimer.release(ticket)
        await self.store.delete(INBOX, ticket)
        return replies

    async def seen(self, event_id: str) -> bool:
        """Whether a form with this id was accepted before (waiting, being handled, or handled)."""
        return await self.store.get(INBOX, event_id) is not None or await self.store.get(EVENTS, event_id) is not None

    async def _release(self, ticket: str) -> None:
        def back(doc: Doc | None) -> Doc:
            if doc is None:
                raise _Busy
            return {**doc, "status": "waiting"}

        try:
            await self.store.update(INBOX, ticket, back)
        except _Busy:
            pass

    async def recover(self) -> int:
        """Handle every form left waiting (accepted but not handled: the process stopped, or its handling failed);
        how many were handled."""
        handled = 0
        now = self.clock.now()
        for ticket, doc in sorted(await self.store.scan(INBOX), key=lambda item: item[0]):
            if self._fresh(doc, now):
                continue
            try:
                handled += bool(await self.process(ticket))
            except Exception as exc:  # (its kind only: a message could name what was typed)
                log.warning("an accepted form could not be handled yet (%s); tried again later", type(exc).__name__)
        if handled:
            log.info("handled %d form(s) accepted earlier", handled)
        return handled

    def _fresh(self, doc: Doc, now: datetime) -> bool:
        """Accepted moments ago by a process that is still running (this one, or, where the store is shared,
        another): that process is handling it now."""
        mine = doc.get("accepted_by") == self.claimer.name
        if not mine and self.claimer.exclusive:
            return False  # (accepted by a process that has gone)
        try:
            return now - datetime.fromisoformat(str(doc.get("at"))) < FRESH
        except ValueError:
            return False

    async def _claim(self, ticket: str) -> Event | None:
        now = self.clock.now()

        def take(doc: Doc | None) -> Doc:
            if doc is None:
                raise _Busy
            if doc.get("status") == "handling" and self.claimer.live(doc, now, LEASE, ticket):
                raise _Busy
            return {**doc, "status": "handling", **self.claimer.stamp(now, ticket)}

        try:
            doc = await self.store.update(INBOX, ticket, take)
        except _Busy:
            return None
        except BaseException:
            self.claimer.release(ticket)
            raise
        return Event.from_dict(cast(dict, doc["event"]))

    async def _owe(self, event: Event, replies: list[Reply]) -> None:
        """Queue what handling the form produced: a change to a case into its thread (whoever acted, from wherever),
        everything else to the person, privately."""
        for number, reply in enumerate(replies):
            if reply.kind in ACTED:
                await self.threads.send(f"case:{event.event_id}", reply, case=reply.case_ref, notify=event.reply_to)
            elif event.reply_to is not None and reply.kind != Kind.FORM:
                await self.threads.send(f"reply:{event.event_id}:{number}", reply, to=event.reply_to)

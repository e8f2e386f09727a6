"""The channels this process has connected, and the one outbox every message goes through.

A channel connects with a Sender (how it posts) and a ChannelInfo (what the core must know of it). A message is a
Reply with where it goes; it is queued durably once per key (so doing the same thing twice, or again after a
restart, never queues it twice), then delivered with retries: back-off (at least what the platform's Retry-After
asks), a lease while one delivery is in flight, and a time after which it is given up (bot.jobs.threads says what
happens then). A post whose outcome is unknown (it timed out: it may have arrived) is looked for before it is tried
again, where the channel can look (`Sender.find`), so it is never posted twice there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from bot.dates.clock import Clock
from bot.jobs.claims import Claimer
from bot.types import Reply, ThreadRef, reply_from_dict, reply_to_dict
from storage.base import Doc, Store
from storage.collections import OUTBOX, OUTBOX_DUE

log = logging.getLogger(__name__)
POST_SECONDS = 20.0  # one post (its connection, the platform's answer), after which its outcome is unknown
LEASE = timedelta(minutes=2)  # a delivery in flight that long is taken to have died with its process
FIRST_WAIT = timedelta(seconds=15)
LONGEST_WAIT = timedelta(minutes=30)
GIVE_UP = timedelta(hours=24)  # a message still not delivered after a day is given up (and that is told)


class SendError(Exception):
    """A message could not be delivered. `retry_after`: seconds the platform asked to wait; `unknown`: the post may
    have arrived (it timed out), so it is looked for before it is tried again; `channel`: where it failed."""

    def __init__(self, message: str, *, retry_after: float | None = None, unknown: bool = False,
                 channel: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.unknown = unknown
        self.channel = channel


class Sender(Protocol):
    """How a channel posts. `post` puts `reply` into `thread` (at the top of its conversation when `thread.thread`
    is empty) and returns where replies to that message go: for a case's root message, the case's thread. `via` is
    a conversation the channel may borrow its connection details from (the one the case was opened in); `key` names
    the message (a channel that can look for its messages carries it, see `find`). Raises SendError."""

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None,
                   key: str = "") -> ThreadRef: ...


@dataclass(frozen=True)
class ChannelInfo:
    """What the core knows of a channel."""

    name: str
    forms: bool = False  # shows whole forms (a Slack modal, a Teams card) instead of asking one question at a time
    command: str = ""  # how its users start a command, e.g. Slack's "/escalate" ("" for plain words)
    help_note: str = ""  # a line the help adds for this channel
    cases_place: str = ""  # the conversation where each case's thread starts ("" = the raiser's private chat)
    roots: bool = True  # a case gets a thread of its own, started by a root message (the console has none)


@dataclass(frozen=True)
class Letter:
    """A queued message: what (`reply`), where (`to`, or the thread of case `case`; `root`: it starts that thread),
    who to tell if it is given up (`notify`), and how its delivery stands."""

    key: str
    reply: Reply
    to: ThreadRef | None = None
    case: str = ""
    root: bool = False
    via: ThreadRef | None = None
    notify: ThreadRef | None = None
    attempts: int = 0
    unknown: bool = False
    created_at: str = ""

    def to_doc(self) -> Doc:
        return {"reply": reply_to_dict(self.reply), "to": self.to.to_dict() if self.to else None, "case": self.case,
                "root": self.root, "via": self.via.to_dict() if self.via else None,
                "notify": self.notify.to_dict() if self.notify else None, "attempts": self.attempts,
                "unknown": self.unknown, "created_at": self.created_at, "status": "pending"}

    @classmethod
    def from_doc(cls, key: str, doc: Mapping[str, Any]) -> Letter:
        def thread(name: str) -> ThreadRef | None:
            held = doc.get(name)
            return ThreadRef.from_dict(held) if held else None

        return cls(key, reply_from_dict(doc["reply"]), thread("to"), str(doc.get("case", "")),
                   bool(doc.get("root")), thread("via"), thread("notify"), int(doc.get("attempts", 0)),
                   bool(doc.get("unknown")), str(doc.get("created_at", "")))


class _Busy(Exception):
    """Not claimed: delivered already, given up, or in flight elsewhere."""


class Outbox:
    """The connected channels, and the durable queue of messages to them."""

    def __init__(self, store: Store | None = None, clock: Clock | None = None,
                 claimer: Claimer | None = None) -> None:
        self._senders: dict[str, Sender] = {}
        self._info: dict[str, ChannelInfo] = {}
        self.store = store
        self.clock = clock
        self.claimer = claimer or Claimer(exclusive=bool(store is not None and store.exclusive))
        self.failed_attempts = 0  # delivery attempts that failed since the process started (metrics)
        self.given_up = 0  # messages given up since the process started (metrics)
        self.post_seconds = POST_SECONDS

    # --- channels -----------------------------------------------------------------------------------------------
    def register(self, info: ChannelInfo, sender: Sender) -> None:
        self._senders[info.name] = sender
        self._info[info.name] = info

    def info(self, channel: str) -> ChannelInfo:
        """What is known of a channel (a channel never connected here: plain words, no threads of its own)."""
        return self._info.get(channel) or ChannelInfo(channel, roots=False)

    def reaches(self, thread: ThreadRef) -> bool:
        """Whether this process can post into `thread` (its channel is connected here, and the channel's sender, if
        it says, reaches that conversation: a console session reaches only its own person)."""
        sender = self._senders.get(thread.channel)
        reaches = getattr(sender, "reaches", None)
        return sender is not None and (reaches is None or bool(reaches(thread)))

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "",
                   seconds: float | None = None) -> ThreadRef:
        """Post now, within `seconds` (default `post_seconds`; past them the outcome is unknown: SendError with
        `unknown`)."""
        seconds = seconds or self.post_seconds
        sender = self._senders.get(thread.channel)
        if sender is None:
            raise SendError(f"no {thread.channel} connection in this process", channel=thread.channel)
        try:
            async with asyncio.timeout(seconds):
                return await sender.post(thread, reply, via, key)
        except TimeoutError:
            raise SendError(f"{thread.channel} did not answer in time", unknown=True, channel=thread.channel) from None
        except SendError as exc:
            exc.channel = exc.channel or thread.channel
            raise

    async def find(self, thread: ThreadRef, key: str, root: bool, since: datetime | None = None) -> ThreadRef | None:
        """Where a message whose post timed out landed, if the channel can tell (None: not found, or cannot look).
        `since`: when it was first tried (the channel need look no further back)."""
        find = getattr(self._senders.get(thread.channel), "find", None)
        if find is None:
            return None
        try:
            async with asyncio.timeout(self.post_seconds):
                found: ThreadRef | None = await find(thread, key, root, since)
                return found
        except TimeoutError:
            raise SendError(f"{thread.channel} did not answer in time", unknown=True, channel=thread.channel) from None

    # --- the queue ----------------------------------------------------------------------------------------------
    def _store(self) -> tuple[Store, Clock]:
        if self.store is None or self.clock is None:
            raise RuntimeError("this outbox has no store: it can only post")
        return self.store, self.clock

    async def queue(self, letter: Letter, revive: bool = False) -> bool:
        """Keep a letter until it is delivered; False if one with its key was queued before (nothing is done, but
        with `revive` one that was cancelled or given up is queued afresh: a case's root, still needed)."""
        store, clock = self._store()
        now = clock.now().isoformat()
        letter_doc = {**letter.to_doc(), "created_at": letter.created_at or now, "next_at": now}
        await store.put(OUTBOX_DUE, letter.key, {"at": now})  # first: a crash leaves an index entry, never a lost one
        if await store.create(OUTBOX, letter.key, letter_doc):
            return True
        revived = False

        def again(doc: Doc | None) -> Doc:
            nonlocal revived
            if doc is None or (revive and doc.get("status") in ("cancelled", "failed")):
                revived = True  # (a post that timed out before it was given up may have arrived: look first)
                return {**letter_doc, "unknown": bool((doc or {}).get("unknown"))}
            raise _Busy

        try:
            await store.update(OUTBOX, letter.key, again)
        except _Busy:
            doc = await store.get(OUTBOX, letter.key)
            if doc is None or doc.get("status") in ("sent", "failed", "cancelled"):
                await store.delete(OUTBOX_DUE, letter.key)
        return revived

    async def claim(self, key: str) -> Letter | None:
        """The letter, claimed for one delivery attempt now (None: delivered, given up, or not due yet)."""
        store, clock = self._store()
        now = clock.now()

        def take(doc: Doc | None) -> Doc:
            if doc is None or doc.get("status") in ("sent", "failed", "cancelled"):
                raise _Busy
            if doc.get("status") == "sending" and self.claimer.live(doc, now, LEASE, key):
                raise _Busy
            if doc.get("next_at") and datetime.fromisoformat(doc["next_at"]) > now:
                raise _Busy
            # (taken over from a delivery that never finished: its post may have arrived, so it is looked for first)
            unknown = bool(doc.get("unknown")) or doc.get("status") == "sending"
            return {**doc, "status": "sending", "unknown": unknown, **self.claimer.stamp(now, key)}

        try:
            doc = await store.update(OUTBOX, key, take)
        except _Busy:
            held = await store.get(OUTBOX, key)
            if held is None or held.get("status") in ("sent", "failed", "cancelled"):
                await store.delete(OUTBOX_DUE, key)
            return None
        except BaseException:
            self.claimer.release(key)
            raise
        try:
            return Letter.from_doc(key, doc)
        except (KeyError, TypeError, ValueError) as exc:  # (stored by a version that wrote it differently)
            log.error("a queued message cannot be read (%s); it is given up", type(exc).__name__)
            await store.update(OUTBOX, key, lambda d: {**(d or {}), "status": "failed", "at": now.isoformat(),
                                                        "error": "unreadable"})
            await store.delete(OUTBOX_DUE, key)
            self.claimer.release(key)
            return None

    def unclaim(self, key: str) -> None:
        """This process is done with its claim on the letter (it was delivered, put back or given up)."""
        self.claimer.release(key)

    async def release(self, key: str) -> None:
        """Give a claimed letter back untried (this process cannot reach where it goes: another one will)."""
        store, _ = self._store()

        def back(doc: Doc | None) -> Doc:
            if doc is None or doc.get("status") != "sending":
                raise _Busy
            return {**doc, "status": "pending"}

        try:
            await store.update(OUTBOX, key, back)
        except _Busy:
            pass

    async def delivered(self, key: str, where: ThreadRef) -> None:
        store, clock = self._store()
        now = clock.now().isoformat()
        await store.update(OUTBOX, key, lambda doc: {**(doc or {}), "status": "sent", "at": now,
                                                     "posted": where.to_dict()})
        await store.delete(OUTBOX_DUE, key)

    async def retry_later(self, key: str, error: SendError) -> bool:
        """Put a failed attempt back for later; False once the letter is given up (GIVE_UP after it was made)."""
        store, clock = self._store()
        now = clock.now()
        give_up = False

        def back(doc: Doc | None) -> Doc:
            nonlocal give_up
            doc = doc or {}
            attempts = int(doc.get("attempts", 0)) + 1
            created = datetime.fromisoformat(doc.get("created_at") or now.isoformat())
            wait = min(LONGEST_WAIT, FIRST_WAIT * 2 ** min(attempts - 1, 12))
            if error.retry_after:
                wait = max(wait, timedelta(seconds=min(error.retry_after, 3600)))
            give_up = now + wait > created + GIVE_UP
            status = "failed" if give_up else "pending"
            return {**doc, "status": status, "attempts": attempts, "unknown": error.unknown or doc.get("unknown"),
                    "next_at": (now + wait).isoformat(), "error": str(error)[:200],
                    **({"at": now.isoformat()} if give_up else {})}

        doc = await store.update(OUTBOX, key, back)
        self.failed_attempts += 1
        self.given_up += give_up
        if give_up:
            await store.delete(OUTBOX_DUE, key)
        else:
            await store.put(OUTBOX_DUE, key, {"at": doc["next_at"]})
        return not give_up

    async def cancel(self, key: str) -> None:
        """A letter no longer wanted (a reminder overtaken by a more urgent one): dropped unless already sent."""
        store, clock = self._store()

        def drop(doc: Doc | None) -> Doc:
            if doc is None or doc.get("status") not in ("pending", "sending") or (
                    doc.get("status") == "sending" and not self.claimer.holds(key)):  # (one in flight elsewhere)
                raise _Busy
            return {**doc, "status": "cancelled", "at": clock.now().isoformat()}

        try:
            await store.update(OUTBOX, key, drop)
            await store.delete(OUTBOX_DUE, key)
        except _Busy:
            pass

    async def due(self) -> list[str]:
        """Keys of the letters due now, oldest first (only the small index of undelivered letters is read)."""
        store, clock = self._store()
        now = clock.now()
        due = []
        for key, doc in await store.scan(OUTBOX_DUE):
            try:
                at = datetime.fromisoformat(str(doc.get("at")))
            except ValueError:
                at = now
            if at <= now:
                due.append((at, key))
        return [key for _, key in sorted(due)]

    async def state(self, key: str) -> tuple[str, str]:
        """A letter's status ("pending", "sending", "sent", "failed", "cancelled"; "" if there is none) and the
        error of its last attempt."""
        store, _ = self._store()
        doc = await store.get(OUTBOX, key)
        return (cast(str, doc.get("status", "")), str(doc.get("error", ""))) if doc else ("", "")

    async def expire(self, now: datetime, older_than: timedelta) -> int:
        """Forget letters delivered, given up or cancelled more than `older_than` ago (their keys only keep a
        repeat from being queued again); how many went."""
        store, _ = self._store()
        cutoff = now - older_than

        def finished_before(doc: Doc) -> bool:
            try:
                return doc.get("status") in ("sent", "failed", "cancelled") and \
                    datetime.fromisoformat(str(doc.get("at"))) < cutoff
            except ValueError:
                return False

        removed = 0
        for key, doc in await store.scan(OUTBOX):
            if finished_before(doc) and await store.delete_if(OUTBOX, key, finished_before):
                removed += 1
        return removed


class PrintSender:
    """Console threads: a message is printed (by `tick`, or into a running console session)."""

    def __init__(self, write: Callable[[str], None], render: Callable[[Reply], str]) -> None:
        self.write = write
        self.render = render

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "") -> ThreadRef:
        self.write(f"[{thread.conversation}] {self.render(reply)}")
        return thread

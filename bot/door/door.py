"""The door: everything a channel may do with the core, and nothing more."""

from __future__ import annotations

from collections.abc import Mapping

from bot.conversation.engine import Engine
from bot.dates.clock import Clock
from bot.door.state import ChannelState
from bot.jobs.expiry import DailySweep
from bot.jobs.outbox import ChannelInfo, Outbox, Sender
from bot.jobs.threads import Threads
from bot.types import Event, Reply
from policies.model import Policy
from storage.base import Store


class Door:
    """A channel connects here once (how it posts, what it is like) and then hands in Events and renders the Replies
    it gets back: typed text, a form sent back (`check` it first where the platform needs an answer at once), a
    button (the command it stands for, with the stage it was shown on)."""

    def __init__(self, engine: Engine, outbox: Outbox, store: Store, clock: Clock, sweep: DailySweep,
                 threads: Threads) -> None:
        self._engine = engine
        self._threads = threads
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

    async def handle(self, event: Event) -> list[Reply]:
        """What to show for what a person did, in order."""
        return await self._engine.handle(event)

    async def check(self, event: Event) -> Mapping[str, str]:
        """Problems with a submitted form, per question id; nothing is stored."""
        return await self._engine.check(event)

    async def deliver_waiting(self) -> None:
        """Deliver the messages waiting for what this process reaches now (a console session, as it starts)."""
        await self._threads.deliver_due()

    @property
    def procedures(self) -> Mapping[str, Policy]:
        """The procedures this deployment runs (for a greeting)."""
        return self._engine.policies

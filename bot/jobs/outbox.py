"""The outbox: sends a Reply into a thread on whichever channel the thread belongs to."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot.types import Reply, ThreadRef

log = logging.getLogger(__name__)


class SendError(Exception):
    """A message could not be delivered (no connection for that channel, API error); the caller retries later."""


class Sender(Protocol):
    async def send(self, thread: ThreadRef, reply: Reply) -> None:
        """Deliver one reply into a thread, or raise SendError."""


class Outbox:
    """Routes replies to the sender registered for each channel."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def register(self, channel: str, sender: Sender) -> None:
        self._senders[channel] = sender

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self._senders)

    async def send(self, thread: ThreadRef, reply: Reply) -> None:
        sender = self._senders.get(thread.channel)
        if sender is None:
            raise SendError(f"no {thread.channel} connection in this process")
        await sender.send(thread, reply)

    async def flush(self) -> None:
        """Let each sender that keeps work to retry (a `flush` method; e.g. Slack's case threads) try it again.

        Never raises: one channel's failure is logged (its kind only) and holds up neither the others nor nudges.
        """
        for channel, sender in self._senders.items():
            flush = getattr(sender, "flush", None)
            if flush is None:
                continue
            try:
                await flush()
            except Exception as exc:
                log.warning("%s: retrying held messages failed (%s); tried again at the next pass", channel,
                            type(exc).__name__)


class PrintSender:
    """Console threads: a nudge is printed (by `tick`, or into a running console session)."""

    def __init__(self, write: Callable[[str], None], render: Callable[[Reply], str]) -> None:
        self.write = write
        self.render = render

    async def send(self, thread: ThreadRef, reply: Reply) -> None:
        self.write(f"[{thread.conversation}] {self.render(reply)}")

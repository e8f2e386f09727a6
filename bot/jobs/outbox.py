"""The channels this process has connected, and the outbox that posts a Reply into a thread on its channel.

A channel connects with a Sender (how it posts) and a ChannelInfo (what the core must know of it: whether it shows
whole forms, how its users type commands, where case threads start). The core decides what to post and where;
the sender only renders and posts it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.types import Reply, ThreadRef

log = logging.getLogger(__name__)


class SendError(Exception):
    """A message could not be delivered (no connection for that channel, API error); the caller retries later."""


class Sender(Protocol):
    """How a channel posts. `post` puts `reply` into `thread` (at the top of its conversation when `thread.thread`
    is empty) and returns where replies to that message go: for a case's root message, the case's thread. `via` is
    a conversation the channel may borrow its connection details from (the one the case was opened in). Raises
    SendError when the channel refuses or cannot be reached."""

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None) -> ThreadRef: ...


@dataclass(frozen=True)
class ChannelInfo:
    """What the core knows of a channel."""

    name: str
    forms: bool = False  # shows whole forms (a Slack modal, a Teams card) instead of asking one question at a time
    command: str = ""  # how its users start a command, e.g. Slack's "/escalate" ("" for plain words)
    help_note: str = ""  # a line the help adds for this channel
    cases_place: str = ""  # the conversation where each case's thread starts ("" = the raiser's private chat)
    roots: bool = True  # a case gets a thread of its own, started by a root message (the console has none)


class Outbox:
    """The connected channels, and posting into their threads."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}
        self._info: dict[str, ChannelInfo] = {}

    def register(self, info: ChannelInfo, sender: Sender) -> None:
        self._senders[info.name] = sender
        self._info[info.name] = info

    def info(self, channel: str) -> ChannelInfo:
        """What is known of a channel (a channel never connected here: plain words, no threads of its own)."""
        return self._info.get(channel) or ChannelInfo(channel, roots=False)

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None) -> ThreadRef:
        sender = self._senders.get(thread.channel)
        if sender is None:
            raise SendError(f"no {thread.channel} connection in this process")
        return await sender.post(thread, reply, via)


class PrintSender:
    """Console threads: a message is printed (by `tick`, or into a running console session)."""

    def __init__(self, write: Callable[[str], None], render: Callable[[Reply], str]) -> None:
        self.write = write
        self.render = render

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None) -> ThreadRef:
        self.write(f"[{thread.conversation}] {self.render(reply)}")
        return thread

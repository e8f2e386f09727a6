"""Platform-neutral types: what adapters send the engine (Event) and what it sends back (Reply)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.model import Question


@dataclass(frozen=True)
class UserRef:
    """Who is speaking: a channel ("console", "slack", "teams") and that channel's user id."""

    channel: str
    id: str
    name: str = ""
    email: str = ""

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.id}"

    @property
    def display(self) -> str:
        return self.name or self.email or self.id


@dataclass(frozen=True)
class ThreadRef:
    """Where a conversation happens: a channel's conversation id and, optionally, a thread in it."""

    channel: str
    conversation: str
    thread: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"channel": self.channel, "conversation": self.conversation, "thread": self.thread}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> ThreadRef:
        return cls(data["channel"], data["conversation"], data.get("thread", ""))


@dataclass(frozen=True)
class Event:
    """Something a user did: typed text, or submitted a whole form (Slack modal, Teams card)."""

    user: UserRef
    thread: ThreadRef
    text: str = ""
    form: Mapping[str, Any] | None = None
    event_id: str = ""
    action: str = ""  # with `form`: "resolve" / "escalate" / "extend" on `case_ref`, taken on `stage`
    case_ref: str = ""
    stage: int | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: the summary chart (shown in the channel) or a written record (sent privately)."""

    name: str
    data: bytes = field(repr=False)
    mime: str


@dataclass(frozen=True)
class Reply:
    """Something to show. `question` is the next question (each channel renders it its own way); a reply with
    `form` asks the whole Stage 1 form at once (with `errors` per question id after a failed submit)."""

    text: str
    question: Question | None = None
    form: tuple[Question, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)
    kind: str = "message"
    case_ref: str = ""
    actions: tuple[str, ...] = ()  # buttons offered on the case: "resolve", "escalate", "extend"
    stage: int | None = None  # the stage the actions are for (so a late click on an old nudge is refused)
    mentions: tuple[str, ...] = ()  # directory emails of whoever must act
    attachment: Attachment | None = None
    private: bool = False  # only for the person who asked (a written record): never posted to a channel

"""The neutral language between channels and the core: who (UserRef), where (ThreadRef), what happened (Event) and
what to show (Reply, with its Kind, a whole Form, Mentions and an Attachment). No platform appears here."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

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


class Kind(StrEnum):
    """Every kind of reply there is: channels branch on these, never on free strings."""

    MESSAGE = "message"  # an answer in words
    INVALID = "invalid"  # an answer was not taken: the question (or form, with `errors`) is asked again
    REFUSED = "refused"  # not allowed, not found, or not possible now: nothing changed
    FORM = "form"  # questions to show together: `form` (a Slack modal, a Teams card)
    CASE_OPENED = "case_opened"
    EMERGENCY = "emergency"  # the procedure's immediate-harm route, given at once
    ROOT = "root"  # a case thread's first message
    NUDGE = "nudge"  # a deadline reminder in a case's thread
    RESOLVE = "resolve"  # a case was resolved (the reply says so) ...
    ESCALATE = "escalate"  # ... escalated ...
    EXTEND = "extend"  # ... or its timescale extended
    NOT_POSTED = "not_posted"  # a case change was recorded but its thread could not be told
    RECORD = "record"  # a written record, for the asker only (`attachment`, `private`)
    SUMMARY = "summary"  # the weekly summary (with its chart as `attachment`)
    HELP = "help"


ACTED = frozenset({Kind.RESOLVE, Kind.ESCALATE, Kind.EXTEND})
FormStep = Literal["start", "intake", "action"]


@dataclass(frozen=True)
class Mention:
    """Someone a message is addressed to (whoever must act): their name, email and chat ids by channel."""

    name: str
    email: str
    ids: tuple[tuple[str, str], ...] = ()

    def on(self, channel: str) -> str:
        """Their user id on `channel` ("" if the directory does not give one)."""
        return next((uid for ch, uid in self.ids if ch == channel), "")


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: the summary chart (shown in the channel) or a written record (sent privately)."""

    name: str
    data: bytes = field(repr=False)
    mime: str


@dataclass(frozen=True)
class Form:
    """Questions a channel shows together and sends back whole: the Stage 1 form in two steps ("start": which
    partnership and the immediate-risk question; "intake": the rest) or an action on a case ("action").

    A channel keeps `context()` with what it shows (Slack's private_metadata, a card's data) and hands it back with the
    answers (`Event.submitted`), so the core knows what was answered without storing anything while the form is open.
    """

    step: FormStep
    title: str
    submit: str
    questions: tuple[Question, ...]
    intro: str = ""  # said above the questions
    policy: str = ""  # the procedure (intake, action)
    action: str = ""  # resolve / escalate / extend (action)
    case_ref: str = ""  # (action)
    stage: int | None = None  # the stage the action is taken on, so a late submit is refused (action)
    sensitive_heading: str = ""  # shown above the questions marked sensitive (a child's details)
    sensitive_note: str = ""
    command: str = ""  # what to type to get this form, where a channel cannot show it (e.g. from an @mention)

    def context(self) -> dict[str, Any]:
        """What the channel hands back with the answers."""
        out: dict[str, Any] = {"step": self.step}
        out.update({k: v for k, v in (("policy", self.policy), ("action", self.action), ("ref", self.case_ref),
                                      ("stage", self.stage)) if v not in ("", None)})
        return out


@dataclass(frozen=True)
class Event:
    """Something a user did: typed text, or sent a whole form (`form`: answers by question id, `step` which form).

    An action form (step "action") names the case (`case_ref`), the action and the stage it was taken on. A channel
    builds a submitted form with `Event.submitted` from the form's own context.
    """

    user: UserRef
    thread: ThreadRef
    text: str = ""
    form: Mapping[str, Any] | None = None
    event_id: str = ""
    reply_to: ThreadRef | None = None  # the person's private place, for what they are told later (or in the end)
    step: str = ""  # with `form`: "start", "intake" or "action" ("" is taken from what the form holds)
    policy: str = ""
    action: str = ""  # with `form`: "resolve" / "escalate" / "extend" on `case_ref`, taken on `stage`
    case_ref: str = ""
    stage: int | None = None

    @classmethod
    def submitted(cls, user: UserRef, thread: ThreadRef, answers: Mapping[str, Any], context: Mapping[str, Any],
                  event_id: str = "", reply_to: ThreadRef | None = None) -> Event:
        """A form sent back with its context as the channel kept it (anything malformed is read as absent)."""
        stage = context.get("stage")
        if isinstance(stage, str) and stage.isascii() and stage.isdigit() and len(stage) < 4:
            stage = int(stage)
        return cls(user, thread, form=dict(answers), event_id=event_id, step=_text(context.get("step")),
                   policy=_text(context.get("policy")), action=_text(context.get("action")),
                   case_ref=_text(context.get("ref")),
                   stage=stage if isinstance(stage, int) and not isinstance(stage, bool) else None,
                   reply_to=reply_to)

    def to_dict(self) -> dict[str, Any]:
        """As kept while it waits to be handled (the inbox)."""
        return {"user": {"channel": self.user.channel, "id": self.user.id, "name": self.user.name,
                         "email": self.user.email},
                "thread": self.thread.to_dict(), "text": self.text,
                "form": dict(self.form) if self.form is not None else None, "event_id": self.event_id,
                "step": self.step, "policy": self.policy, "action": self.action, "case_ref": self.case_ref,
                "stage": self.stage, "reply_to": self.reply_to.to_dict() if self.reply_to else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        user = data["user"]
        return cls(UserRef(user["channel"], user["id"], user.get("name", ""), user.get("email", "")),
                   ThreadRef.from_dict(data["thread"]), text=data.get("text", ""), form=data.get("form"),
                   event_id=data.get("event_id", ""),
                   reply_to=ThreadRef.from_dict(data["reply_to"]) if data.get("reply_to") else None,
                   step=data.get("step", ""), policy=data.get("policy", ""), action=data.get("action", ""),
                   case_ref=data.get("case_ref", ""), stage=data.get("stage"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Reply:
    """Something to show. `question` is the next question of a typed dialog (each channel renders it its own way);
    `form` is a whole form (with `errors` per question id after a failed submit)."""

    text: str
    question: Question | None = None
    kind: Kind = Kind.MESSAGE
    form: Form | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    case_ref: str = ""
    actions: tuple[str, ...] = ()  # buttons offered on the case: "resolve", "escalate", "extend"
    stage: int | None = None  # the stage the actions are for (so a late click on an old nudge is refused)
    mentions: tuple[Mention, ...] = ()  # whoever must act, for the channel to @mention
    attachment: Attachment | None = None
    private: bool = False  # only for the person who asked (a written record, a form): never posted to a channel


ACTION_LABELS = {"resolve": "Resolve", "escalate": "Escalate", "extend": "Extend"}  # buttons and form titles
ACTION_DONE = {"resolve": "Resolved", "escalate": "Escalated", "extend": "Timescale extended"}  # "... by <name>"


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A reply as stored while it waits to be delivered (the outbox). Questions and forms are never stored: they are
    shown at once, or not at all."""
    out: dict[str, Any] = {"text": reply.text, "kind": str(reply.kind), "case_ref": reply.case_ref,
                           "actions": list(reply.actions), "stage": reply.stage, "private": reply.private,
                           "mentions": [{"name": m.name, "email": m.email, "ids": [list(i) for i in m.ids]}
                                        for m in reply.mentions]}
    if reply.attachment is not None:
        out["attachment"] = {"name": reply.attachment.name, "mime": reply.attachment.mime,
                             "data": base64.b64encode(reply.attachment.data).decode("ascii")}
    return out


def reply_from_dict(data: Mapping[str, Any]) -> Reply:
    held = data.get("attachment")
    attachment = Attachment(held["name"], base64.b64decode(held["data"]), held["mime"]) if held else None
    mentions = tuple(Mention(m["name"], m["email"], tuple((c, u) for c, u in m.get("ids", [])))
                     for m in data.get("mentions", []))
    return Reply(data["text"], kind=Kind(data.get("kind", "message")), case_ref=data.get("case_ref", ""),
                 actions=tuple(data.get("actions", [])), stage=data.get("stage"), private=bool(data.get("private")),
                 mentions=mentions, attachment=attachment)

"""The one door into the core for channels (adapters/): connect, hand in Events, render Replies.

Adapters import from here and nowhere else in the core (tests/test_import_rules.py holds both sides to it): the
neutral types, the Door, a channel's own state, and what a channel's sender implements.
"""

from bot.config import ConfigError, Settings
from bot.door.door import Door, Submitted
from bot.door.state import ChannelState
from bot.jobs.outbox import ChannelInfo, Sender, SendError
from bot.types import (
    ACTED,
    ACTION_DONE,
    ACTION_LABELS,
    Attachment,
    Event,
    Form,
    Kind,
    Mention,
    Reply,
    ThreadRef,
    UserRef,
)
from policies.model import Option, Question

__all__ = [
    "ACTED",
    "ACTION_DONE",
    "ACTION_LABELS",
    "Attachment",
    "ChannelInfo",
    "ChannelState",
    "ConfigError",
    "Door",
    "Event",
    "Form",
    "Kind",
    "Mention",
    "Option",
    "Question",
    "Reply",
    "SendError",
    "Sender",
    "Settings",
    "Submitted",
    "ThreadRef",
    "UserRef",
]

"""The one command table: how a typed line is read in every channel, and the help every channel gives from it."""

from __future__ import annotations

import pytest
from conftest import Chat, core_for

from bot.conversation import commands
from bot.conversation.commands import COMMANDS, read
from bot.jobs.outbox import ChannelInfo
from bot.types import Event, ThreadRef, UserRef


@pytest.mark.parametrize(("typed", "command", "ref", "rest", "case"), [
    ("escalate", "escalate", "", "", False),
    ("/escalate", "escalate", "", "", False),
    ("escalate ESC-2026-0001", "escalate", "ESC-2026-0001", "", True),
    ("/escalate escalate ESC-2026-0001", "escalate", "ESC-2026-0001", "", True),
    ("/escalate escalate", "escalate", "", "", True),  # the action, missing its reference
    ("/escalate status esc-2026-0001", "status", "esc-2026-0001", "", True),
    ("escalate contact ESC-2026-0001 Sam Lee, DI", "contact", "ESC-2026-0001", "Sam Lee, DI", True),
    ("done ESC-2026-0001 2", "done", "ESC-2026-0001", "2", True),
    ("RESOLVE ESC-2026-0001", "resolve", "ESC-2026-0001", "", True),
    ("summary 2026-W48", "summary", "", "2026-W48", False),
    ("/escalate", "escalate", "", "", False),
    ("hello", "help", "", "", False),
    ("?", "help", "", "", False),
    ("stop", "cancel", "", "", False),
    ("", "", "", "", False),
])
def test_a_line_is_read_the_same_in_every_channel(typed, command, ref, rest, case):
    line = read(typed)
    assert (line.command, line.ref, line.rest, line.case) == (command, ref, rest, case)


def test_a_word_that_is_no_command_is_kept_unknown():
    assert read("/escalate frobnicate ESC-2026-0001") == commands.Line("frobnicate")


CHANNELS = {
    "console": ChannelInfo("console", roots=False),
    "slack": ChannelInfo("slack", forms=True, command="/escalate"),
    "teams": ChannelInfo("teams", forms=True, help_note="In a channel, @mention me first."),
}


class Nowhere:
    async def post(self, thread, reply, via=None, key=""):
        return thread


@pytest.mark.parametrize("channel", list(CHANNELS))
async def test_every_channel_gives_the_whole_help_from_the_one_table(store, all_policies, clock, channel):
    core = core_for(store, all_policies, clock)
    core.outbox.register(CHANNELS[channel], Nowhere())
    user = UserRef(channel, "U1", email="pat@example.org")
    (helped,) = await core.door.handle(Event(user, ThreadRef(channel, "C1"), text="help"))
    prefix = CHANNELS[channel].command
    for command in COMMANDS:
        if command.name == "cancel" and CHANNELS[channel].forms:
            assert "cancel" not in helped.text  # (no questions one by one there)
            continue
        usage = " ".join(w for w in (prefix, command.name, command.args) if w)
        if prefix and command.name == "escalate" and not command.args:
            usage = prefix
        assert f"  {usage}: {command.does}" in helped.text, (channel, usage)
    assert "999" in helped.text and CHANNELS[channel].help_note in helped.text


async def test_the_console_and_slack_are_told_the_same_when_a_case_reference_is_missing(store, all_policies, clock):
    core = core_for(store, {"surrey": all_policies["surrey"]}, clock)
    core.outbox.register(CHANNELS["slack"], Nowhere())
    slack = UserRef("slack", "U1")
    (told,) = await core.door.handle(Event(slack, ThreadRef("slack", "C1"), text="/escalate resolve"))
    assert told.text == "Which case? Type /escalate resolve REF, with the case reference (e.g. ESC-2026-0001)."
    (told,) = await Chat(core).say("resolve")
    assert told.text == "Which case? Type resolve REF, with the case reference (e.g. ESC-2026-0001)."

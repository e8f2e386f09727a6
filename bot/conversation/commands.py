"""The one command table: what people can type (in any channel), how a line is read, and the help built from it.

Every channel sends the words as typed. Slack's slash command arrives as "/escalate status REF" and a Teams message
as "escalate status REF" or "status REF": after a leading "escalate", a word that is itself a command (and not a case
reference) is the command, so "escalate" alone starts an escalation, "escalate REF" escalates a case, and "escalate
status REF" asks for its status.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.cases.case import is_ref

SAFETY = "If a child is in immediate danger, call 999 now."


@dataclass(frozen=True)
class Command:
    """One command: its name, what follows it, what it does (for the help), and how it behaves."""

    name: str
    args: str
    does: str
    on_case: bool = False  # takes a case reference first
    asks: bool = False  # asks questions of its own (a form, or questions one by one)
    words: tuple[str, ...] = ()  # other words that mean the same
    effects: bool = False  # changes something or sends something somewhere: a repeat of it must do nothing


COMMANDS: tuple[Command, ...] = (
    Command("escalate", "", "start a new escalation (the Stage 1 questions, then a case is opened)", asks=True),
    Command("status", "REF", "where a case is, e.g. status ESC-2026-0001", on_case=True),
    Command("resolve", "REF", "record how a case was resolved (asks what was agreed)", on_case=True, asks=True),
    Command("escalate", "REF", "take a case to its next stage (asks why)", on_case=True, asks=True),
    Command("extend", "REF", "a new date both agencies agreed, where the procedure allows it", on_case=True,
            asks=True),
    Command("harm", "REF", "the immediate-harm route for a case, at once (and recorded)", on_case=True, effects=True),
    Command("done", "REF N", "mark notification duty N (as numbered in status) done", on_case=True, effects=True),
    Command("contact", "REF TEXT", "record the contact the other agency gave you", on_case=True, effects=True),
    Command("record", "REF", "your private copy of the case's written record", on_case=True, effects=True),
    Command("summary", "[YYYY-Www]", "the weekly summary (safeguarding leads)", effects=True),
    Command("cancel", "", "stop the questions you are answering", words=("stop", "quit", "exit")),
    Command("help", "", "this message", words=("?", "hello", "hi")),
)
CASE_COMMANDS = tuple(dict.fromkeys(c.name for c in COMMANDS if c.on_case))
WITH_EFFECTS = frozenset(c.name for c in COMMANDS if c.effects)
ONE_SHOT = tuple(dict.fromkeys(c.name for c in COMMANDS if c.on_case and not c.asks))  # answered at once
_NAMES = {word: c.name for c in COMMANDS for word in (c.name, *c.words)}


@dataclass(frozen=True)
class Line:
    """A typed line, read: the command ("" for an empty line; the first word itself when it is no command, which the
    engine answers as not understood), the case reference given after it (as typed, "" if none), and the rest."""

    command: str
    ref: str = ""
    rest: str = ""
    case: bool = False  # a command on a case (with its reference, or missing one)

    @property
    def words(self) -> str:
        """Everything after the command word."""
        return f"{self.ref} {self.rest}".strip()


def _split(text: str) -> tuple[str, str]:
    first, _, rest = text.strip().lstrip("/").partition(" ")
    return first.lower(), rest.strip()


def read(text: str) -> Line:
    """Read a typed line (see the module's docstring for the "escalate" prefix)."""
    word, rest = _split(text)
    prefixed = word == "escalate" and bool(rest) and not is_ref(rest.split(" ")[0])
    if prefixed:
        word, rest = _split(rest)  # ("escalate escalate" is the action on a case, missing its reference)
    if not word:
        return Line("")
    name = _NAMES.get(word)
    if name is None:
        return Line(word)
    if name in CASE_COMMANDS and (name != "escalate" or rest or prefixed):
        ref, _, after = rest.partition(" ")
        return Line(name, ref, after.strip(), case=True)
    return Line(name, "", rest)


def on_case(line: Line) -> bool:
    """Whether the line is a command on a case ("escalate" with a reference after it, "status REF", ...)."""
    return line.case


def help_text(prefix: str = "", note: str = "", forms: bool = False) -> str:
    """The help, as a channel's users type commands (`prefix`: Slack's "/escalate"), with a note of its own; a channel
    that shows whole forms (`forms`) has no questions to cancel."""
    def usage(command: Command) -> str:
        words = [command.name, command.args]
        if prefix:  # "/escalate" alone starts one; every other command follows it
            words = [prefix] if command.name == "escalate" and not command.args else [prefix, *words]
        return " ".join(w for w in words if w)

    lines = ["I help you follow your safeguarding partnership's procedure for resolving professional "
             "disagreements."]
    lines += [f"  {usage(c)}: {c.does}" for c in COMMANDS if not (forms and c.name == "cancel")]
    if note:
        lines.append(note)
    lines.append(SAFETY)
    return "\n".join(lines)

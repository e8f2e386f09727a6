"""Parses and validates one answer to a question; an invalid answer gets a clear sentence saying why.

An error sentence never repeats what was typed for a `sensitive` question (a child's details): errors are shown back
in chat messages and cards, where those details must never appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from policies.model import Question

YES = {"yes", "y", "yeah", "yep", "true", "1"}
NO = {"no", "n", "nope", "false", "0"}
SKIP = {"skip", "-", "none", "n/a", "na"}
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
UK_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
EARLIEST = date(1900, 1, 1)


@dataclass(frozen=True)
class Parsed:
    """The outcome of parsing: a value (None for a skipped optional answer) or an error sentence."""

    value: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def parse_answer(question: Question, raw: Any, today: date) -> Parsed:
    """Turn what a user typed (or a form field's value) into the stored value for `question`."""
    if isinstance(raw, bool) and question.kind == "yes_no":
        return Parsed(raw)
    text = "" if raw is None else str(raw).strip()
    if question.required and text.lower() == "skip":
        return Parsed(error="This question needs an answer; it cannot be skipped.")
    if not text or (not question.required and text.lower() in SKIP and question.kind != "yes_no"):
        if question.required:
            return Parsed(error="This question needs an answer.")
        return Parsed(None)
    if question.kind == "yes_no":
        return _yes_no(text)
    if question.kind == "choice":
        return _choice(question, text)
    if question.kind == "date":
        return _date(question, text, today)
    return _text(question, text)


def _yes_no(text: str) -> Parsed:
    low = text.lower().rstrip(".!")
    if low in YES:
        return Parsed(True)
    if low in NO:
        return Parsed(False)
    return Parsed(error="Please answer yes or no.")


def _choice(question: Question, text: str) -> Parsed:
    low = text.lower().rstrip(".")
    if low.isascii() and low.isdigit() and 1 <= int(low) <= len(question.options):
        return Parsed(question.options[int(low) - 1].id)
    for option in question.options:
        if low in (option.id.lower(), option.label.lower()):
            return Parsed(option.id)
    matches = [o for o in question.options if o.label.lower().startswith(low)]
    if len(matches) == 1:
        return Parsed(matches[0].id)
    return Parsed(error=f"Please choose one of the options by its number (1 to {len(question.options)}).")


def _date(question: Question, text: str, today: date) -> Parsed:
    low = text.lower()
    value: date | None = None
    if low == "today":
        value = today
    elif low == "yesterday":
        value = today - timedelta(days=1)
    else:
        m = ISO_DATE.match(text)
        parts = (int(m[1]), int(m[2]), int(m[3])) if m else None
        if parts is None and (m := UK_DATE.match(text)):
            parts = (int(m[3]), int(m[2]), int(m[1]))
        if parts is not None:
            try:
                value = date(*parts)
            except ValueError:  # (what was typed is never repeated: it could be anything)
                return Parsed(error="That is not a real date; please check the day and month.")
    if value is None:
        return Parsed(error="Please give a date as YYYY-MM-DD (e.g. 2026-11-23), DD/MM/YYYY, today or yesterday.")
    if question.not_future and value > today:
        return Parsed(error=f"That date is in the future; please give a date on or before {today.isoformat()}.")
    if value < EARLIEST:
        return Parsed(error="That date is too far in the past; please check it.")
    return Parsed(value.isoformat())


def _text(question: Question, text: str) -> Parsed:
    if len(text) > question.max_length:
        return Parsed(
            error=f"That answer is {len(text)} characters long; please keep it to {question.max_length}."
        )
    return Parsed(text)


def show_answer(question: Question, value: Any) -> str:
    """How a stored answer reads back to a person."""
    if value is None:
        return "(not given)"
    if question.kind == "yes_no":
        return "Yes" if value else "No"
    if question.kind == "choice":
        option = question.option(str(value))
        return option.label if option else str(value)
    return str(value)

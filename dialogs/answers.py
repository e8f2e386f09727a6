"""Parses and validates one answer to a question; an invalid answer gets a clear sentence saying why.

An error sentence never repeats what was typed for a `sensitive` question (a child's details): errors are shown back
in chat messages and cards, where those details must never appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from policies.model import Option, Question

# Yes and no as people type them: the word alone, a few everyday variants, or the word with a short plain tail
# ("yes, I have", "no, not yet"). Anything else ("not sure", "no idea") is asked again: never guessed.
YES = {"yes", "y", "yeah", "yep", "yup", "aye", "true", "1", "correct", "right", "that's right", "that is right"}
NO = {"no", "n", "nope", "nah", "false", "0", "not yet", "wrong"}
YES_TAILS = {"please", "i have", "we have", "i did", "we did", "they have", "they are", "it is", "that's right",
             "that is right", "correct", "it's right"}
NO_TAILS = {"thanks", "thank you", "not yet", "i have not", "i haven't", "we have not", "we haven't", "i did not",
            "i didn't", "we did not", "we didn't", "they have not", "they haven't", "they are not", "they aren't",
            "it is not", "it isn't", "that's wrong", "that is wrong"}
SKIP = {"skip", "-", "none", "n/a", "na"}
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
UK_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
EARLIEST = date(1900, 1, 1)
# Words that carry no choice ("subject to a plan"); and words that turn a choice round ("not on a plan"), with which
# words alone never choose: only the option's whole label, its id or its number do.
FILLER = {"a", "an", "the", "of", "to", "and", "or", "in", "on", "for", "with", "is", "it", "its", "this", "that",
          "these", "my", "our", "their", "they", "he", "she", "about", "be", "been", "has", "have"}
NEGATIONS = {"not", "no", "non", "never", "nor", "isnt", "arent", "hasnt", "havent", "without", "neither"}


class WorkingDays(Protocol):
    """What a working-day check needs of a calendar (bot.dates.workdays.WorkingCalendar)."""

    def is_working_day(self, day: date) -> bool: ...
    def on_or_after(self, day: date) -> date: ...
    def holiday_name(self, day: date) -> str | None: ...


@dataclass(frozen=True)
class Parsed:
    """The outcome of parsing: a value (None for a skipped optional answer) or an error sentence."""

    value: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def parse_answer(question: Question, raw: Any, today: date, calendar: WorkingDays | None = None) -> Parsed:
    """Turn what a user typed (or a form field's value) into the stored value for `question`. `calendar` is the
    procedure's, for a date that must be a working day."""
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
        return _date(question, text, today, calendar)
    return _text(question, text)


def words(text: str) -> list[str]:
    """The words of what was typed, lower case, apostrophes dropped ("child's" is "childs")."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("\u2019", ""))


def yes_or_no(text: str) -> bool | None:
    """True for a yes, False for a no, None for anything else."""
    said = " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'")))
    if said in YES:
        return True
    if said in NO or said in NO_TAILS:
        return False
    first, _, tail = said.partition(" ")
    if first in YES and tail in YES_TAILS:
        return True
    if first in NO and tail in NO_TAILS:
        return False
    return None


def _yes_no(text: str) -> Parsed:
    said = yes_or_no(text)
    if said is None:
        return Parsed(error="Please answer yes or no.")
    return Parsed(said)


def _choice(question: Question, text: str) -> Parsed:
    """An option by its number, its whole label or id, or its words ("child protection plan", "looked after"; a
    word's first three letters or more will do): the one option with more of the typed words than any other. Words
    that fit several options equally ask again, naming them; a negation ("not on a plan") is never settled by words
    alone."""
    low = text.lower().rstrip(".")
    options = question.options
    if low.isascii() and low.isdigit() and 1 <= int(low) <= len(options):
        return Parsed(options[int(low) - 1].id)
    typed = words(text)
    said = " ".join(typed)
    for option in options:
        if said and said in (" ".join(words(option.id.replace("_", " "))), " ".join(words(option.label))):
            return Parsed(option.id)
    wanted = [w for w in typed if w not in FILLER]
    if wanted and not NEGATIONS.intersection(typed):
        scores = [(sum(any(_fits(w, own) for own in _own_words(o)) for w in wanted), o) for o in options]
        best = max(score for score, _ in scores)
        tied = [o for score, o in scores if score == best]
        if best and len(tied) == 1:
            return Parsed(tied[0].id)
        if best:
            listed = "; ".join(f"{options.index(o) + 1}. {o.label}" for o in tied)
            return Parsed(error=f"That fits more than one option: {listed}. Type the number, or more of the words.")
    return Parsed(error=f"Please choose one of the options by its number (1 to {len(options)}) or its words.")


def _own_words(option: Option) -> set[str]:
    return set(words(option.label)) | set(words(option.id.replace("_", " ")))


def _fits(typed: str, own: str) -> bool:
    """A typed word fits an option's word when it is that word, or (three letters or more) the start of it."""
    return typed == own or (len(typed) >= 3 and own.startswith(typed))


def long_date(day: date) -> str:
    """'Monday 23 November 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def _date(question: Question, text: str, today: date, calendar: WorkingDays | None) -> Parsed:
    low = text.lower().rstrip(".")
    value: date | None = None
    if low in ("today", "yesterday") and question.after_today:
        return Parsed(error=f"The new date must be after today ({long_date(today)}).")
    if low in ("today", "yesterday") and not question.day_words:
        return Parsed(error=f"Please give the date itself, as {question.date_hint}.")
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
        if question.after_today:
            return Parsed(error=f"Please give {question.date_hint}.")
        shown = question.date_hint.replace("YYYY-MM-DD", "YYYY-MM-DD (e.g. 2026-11-23)", 1)
        return Parsed(error=f"Please give a date as {shown}.")
    if question.not_future and value > today:
        return Parsed(error=f"That date is in the future; please give a date on or before {today.isoformat()}.")
    if question.after_today and value <= today:
        return Parsed(error=f"The new date must be after today ({long_date(today)}).")
    if value < EARLIEST:
        return Parsed(error="That date is too far in the past; please check it.")
    if question.working_day and calendar is not None and not calendar.is_working_day(value):
        holiday = calendar.holiday_name(value)
        why = f"is {holiday}, not a working day" if holiday else "is not a working day"
        return Parsed(error=f"{long_date(value)} {why}; choose {long_date(calendar.on_or_after(value))} or another "
                            "working day.")
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

"""Answer parsing: what a practitioner may type for each kind of question, and the errors they get."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs.answers import parse_answer, show_answer
from policies.model import Option, Question

TODAY = date(2026, 11, 23)
YES_NO = Question("q", "yes_no", "Yes?")
CHOICE = Question("c", "choice", "Pick", options=(Option("cp", "Child protection plan"), Option("none", "None")))
DATE = Question("d", "date", "When?", not_future=True)
TEXT = Question("t", "text", "Say", max_length=10)
OPTIONAL = Question("o", "text", "Maybe", required=False)


@pytest.mark.parametrize(("raw", "value"), [("yes", True), ("Y", True), ("no", False), ("N.", False), (True, True)])
def test_yes_no(raw, value):
    assert parse_answer(YES_NO, raw, TODAY).value is value


@pytest.mark.parametrize("raw", ["maybe", "", "  "])
def test_yes_no_refuses_anything_else(raw):
    assert parse_answer(YES_NO, raw, TODAY).error


@pytest.mark.parametrize(("raw", "value"), [("1", "cp"), ("2", "none"), ("none", "none"), ("child prot", "cp")])
def test_choice_by_number_id_or_label(raw, value):
    assert parse_answer(CHOICE, raw, TODAY).value == value


@pytest.mark.parametrize("raw", ["0", "3", "zebra"])
def test_choice_refuses_unknown_options(raw):
    assert "1 to 2" in parse_answer(CHOICE, raw, TODAY).error


@pytest.mark.parametrize(
    ("raw", "value"),
    [("2026-11-20", "2026-11-20"), ("20/11/2026", "2026-11-20"), ("today", "2026-11-23"), ("yesterday", "2026-11-22")],
)
def test_dates(raw, value):
    assert parse_answer(DATE, raw, TODAY).value == value


@pytest.mark.parametrize(
    ("raw", "error"),
    [("2026-11-24", "future"), ("30/02/2026", "not a real date"), ("next week", "YYYY-MM-DD"), ("1850-01-01", "past")],
)
def test_bad_dates(raw, error):
    assert error in parse_answer(DATE, raw, TODAY).error


def test_text_length_and_optional_skip():
    assert "keep it to 10" in parse_answer(TEXT, "x" * 11, TODAY).error
    assert parse_answer(TEXT, "  short  ", TODAY).value == "short"
    assert parse_answer(OPTIONAL, "skip", TODAY).ok and parse_answer(OPTIONAL, "skip", TODAY).value is None
    assert "cannot be skipped" in parse_answer(TEXT, "skip", TODAY).error


def test_show_answer():
    assert show_answer(YES_NO, True) == "Yes" and show_answer(CHOICE, "cp") == "Child protection plan"
    assert show_answer(OPTIONAL, None) == "(not given)"


SENSITIVE = {
    "date": Question("dob", "date", "Child's date of birth", required=False, sensitive=True, not_future=True),
    "text": Question("name", "text", "Child's name", required=False, sensitive=True, max_length=10),
    "choice": Question("sc", "choice", "Status", sensitive=True, options=(Option("a", "A"), Option("b", "B"))),
    "yes_no": Question("sy", "yes_no", "Known?", sensitive=True),
}


@pytest.mark.parametrize(
    ("kind", "raw"),
    [("date", "30/02/2015"), ("date", "2015-02-30"), ("date", "31.04.2015"), ("date", "3rd Feb 2015"),
     ("date", "03/02/2099"), ("date", "01/01/1850"), ("text", "Tallulah Quenby-Marsh"), ("choice", "Tallulah"),
     ("yes_no", "Tallulah")],
)
def test_an_error_for_a_sensitive_question_never_repeats_what_was_typed(kind, raw):
    error = parse_answer(SENSITIVE[kind], raw, TODAY).error
    assert error and raw not in error
    assert "2015" not in error and "Tallulah" not in error


def test_an_impossible_date_is_still_called_one_without_repeating_it():
    assert parse_answer(SENSITIVE["date"], "30/02/2015", TODAY).error == (
        "That is not a real date; please check the day and month.")
    assert parse_answer(DATE, "30/02/2026", TODAY).error == (  # not sensitive, and still not repeated
        "That is not a real date; please check the day and month.")


def test_a_superscript_or_other_unicode_digit_is_an_invalid_choice_not_an_error():
    from dialogs.answers import parse_answer
    from policies.model import Option, Question

    question = Question("category", "choice", "Which?", options=(Option("a", "A"), Option("b", "B")))
    for typed in ("²", "١", "①", "1²"):
        result = parse_answer(question, typed, date(2026, 11, 24))
        assert result.error and result.value is None


def test_a_dialog_begun_again_after_its_procedure_changed_keeps_who_is_asked_and_its_start():
    from dialogs import intake
    from policies.loader import load_policies

    policies = load_policies(ids=("surrey",))
    state = {"dialog": intake.DIALOG, "policy": "surrey", "answers": {}, "started_at": "2026-11-23T10:00:00+00:00",
             "ask_raiser": True, "step": "a_question_the_procedure_no_longer_has"}
    outcome = intake.handle_text(state, "yes", policies, date(2026, 11, 24))
    assert "begin again" in outcome.says[0].text
    assert outcome.state["started_at"] == "2026-11-23T10:00:00+00:00" and outcome.state["ask_raiser"] is True
    assert outcome.says[-1].question.id == intake.ordered_questions(policies["surrey"], True)[0].id


# --- yes / no, and choices, as people type them -------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "value"), [
    ("Yes, I have", True), ("yep", True), ("Yes we have.", True), ("that's right", True), ("correct", True),
    ("No, not yet", False), ("not yet", False), ("nope", False), ("No I haven’t", False), ("no thanks", False),
])
def test_yes_and_no_in_everyday_words(raw, value):
    assert parse_answer(YES_NO, raw, TODAY).value is value


@pytest.mark.parametrize("raw", ["not sure", "no idea", "yes and no", "I think so", "yes but only by email"])
def test_an_unsure_answer_is_asked_again_never_guessed(raw):
    assert parse_answer(YES_NO, raw, TODAY).error == "Please answer yes or no."


STATUS = Question("child_status", "choice", "Which of these applies to the child?", options=(
    Option("child_protection_plan", "Subject to a child protection plan"), Option("looked_after", "Looked after"),
    Option("child_in_need", "Child in need plan"), Option("none", "None of these"), Option("unknown", "Not known")))


@pytest.mark.parametrize(("raw", "value"), [
    ("child protection plan", "child_protection_plan"), ("on a child protection plan", "child_protection_plan"),
    ("protection", "child_protection_plan"), ("looked after child", "looked_after"), ("Looked", "looked_after"),
    ("child in need", "child_in_need"), ("none", "none"), ("None of these.", "none"), ("not known", "unknown"),
    ("unknown", "unknown"), ("don't know", "unknown"), ("3", "child_in_need"), ("LOOKED_AFTER", "looked_after"),
])
def test_a_choice_by_its_words(raw, value):
    assert parse_answer(STATUS, raw, TODAY).value == value


def test_words_that_fit_several_options_ask_again_naming_them():
    for raw in ("plan", "child"):
        error = parse_answer(STATUS, raw, TODAY).error
        assert error == ("That fits more than one option: 1. Subject to a child protection plan; 3. Child in need "
                         "plan. Type the number, or more of the words.")


@pytest.mark.parametrize("raw", ["not on a plan", "no plan", "never looked after", "pl", "the", "zebra crossing"])
def test_a_negation_or_words_that_fit_nothing_choose_nothing(raw):
    assert parse_answer(STATUS, raw, TODAY).error == (
        "Please choose one of the options by its number (1 to 5) or its words.")


# --- dates: only what can be valid is taken, and offered -----------------------------------------------------------
DOB = Question("child_dob", "date", "The child's date of birth", required=False, sensitive=True, not_future=True,
               day_words=False)
NEW_DUE = Question("new_due", "date", "What new date?", after_today=True, working_day=True)


class Calendar:
    """Weekends and Christmas Day off."""

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and (day.month, day.day) != (12, 25)

    def on_or_after(self, day: date) -> date:
        while not self.is_working_day(day):
            day = date.fromordinal(day.toordinal() + 1)
        return day

    def holiday_name(self, day: date) -> str | None:
        return "Christmas Day" if (day.month, day.day) == (12, 25) else None


def test_a_date_of_birth_is_written_out_never_today_and_never_in_the_future():
    for word in ("today", "Yesterday"):
        assert parse_answer(DOB, word, TODAY).error == "Please give the date itself, as YYYY-MM-DD or DD/MM/YYYY."
    assert "future" in parse_answer(DOB, "2026-11-24", TODAY).error
    assert parse_answer(DOB, "03/02/2015", TODAY).value == "2015-02-03"
    assert DOB.date_hint == "YYYY-MM-DD or DD/MM/YYYY"
    assert DATE.date_hint == "YYYY-MM-DD, DD/MM/YYYY, today or yesterday"


def test_a_new_due_date_is_a_working_day_after_today():
    assert NEW_DUE.date_hint == "a working day after today: YYYY-MM-DD or DD/MM/YYYY"
    for raw in ("today", "yesterday", "2026-11-23", "2026-11-20"):
        assert parse_answer(NEW_DUE, raw, TODAY, Calendar()).error == (
            "The new date must be after today (Monday 23 November 2026).")
    assert parse_answer(NEW_DUE, "2026-11-28", TODAY, Calendar()).error == (
        "Saturday 28 November 2026 is not a working day; choose Monday 30 November 2026 or another working day.")
    assert parse_answer(NEW_DUE, "25/12/2026", TODAY, Calendar()).error == (
        "Friday 25 December 2026 is Christmas Day, not a working day; choose Monday 28 December 2026 or another "
        "working day.")
    assert parse_answer(NEW_DUE, "next week", TODAY).error == (
        "Please give a working day after today: YYYY-MM-DD or DD/MM/YYYY.")
    assert parse_answer(NEW_DUE, "2026-11-24", TODAY, Calendar()).value == "2026-11-24"

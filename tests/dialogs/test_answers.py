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

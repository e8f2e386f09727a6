"""The typed Stage 1 dialog: a date far in the past asked about before it is taken, `back` that keeps every answer,
and the review of the answers before the case opens. Pure functions of (state, answer, policies, today)."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import CHILD_DOB, CHILD_NAME, DEFAULT_ANSWERS, answer_for

from dialogs import intake
from policies.loader import load_policies

TODAY = date(2026, 11, 23)
POLICIES = load_policies()
SURREY = {"surrey": POLICIES["surrey"]}
ORDER = [q.id for q in intake.ordered_questions(POLICIES["surrey"])]


def run(state, *typed, policies=SURREY, today=TODAY):
    """Each typed line in turn; the last outcome."""
    outcome = None
    for text in typed:
        outcome = intake.handle_text(state, text, policies, today)
        state = outcome.state
    return outcome


def answered_until(stop: str, policies=SURREY):
    """A dialog with the default answers given up to (not including) question `stop`."""
    outcome = intake.start(policies, "2026-11-23T10:00:00+00:00")
    while outcome.says[-1].question.id != stop:
        outcome = intake.handle_text(outcome.state, answer_for(outcome.says[-1].question, DEFAULT_ANSWERS),
                                     policies, TODAY)
    return outcome.state


def review():
    return answered_until("review")


def test_the_last_answer_brings_the_review_not_the_case():
    outcome = run(answered_until("child_dob"), CHILD_DOB)
    assert outcome.effect == "" and outcome.state["step"] == "review"
    shown = outcome.says[-1].question.prompt
    assert shown.startswith("Please check your answers before the case is opened:\n")
    assert "  2. When did the disagreement or concern arise? Monday 23 November 2026" in shown
    assert "  12. Which of these applies to the child? None of these" in shown
    assert "  10. Have you discussed this with your line manager? Yes" in shown
    assert "  14. The child's name: (given)" in shown and "  15. The child's date of birth: (given)" in shown
    # nothing typed as free text, nor a child's details, comes back
    for typed in (CHILD_NAME, "2015", "February", "Northshire Police", "DS Jane Doe", "NS-4471", "strategy"):
        assert typed not in shown
    assert outcome.says[-1].question.help == (
        "Type confirm to open the case, back to change the last answer, a number to change that answer, or cancel "
        "to stop.")


def test_confirm_opens_the_case_with_every_answer():
    outcome = run(review(), "Confirm")
    assert outcome.effect == "open_case" and outcome.state["step"] == "done"
    assert outcome.answers["child_name"] == CHILD_NAME and outcome.answers["arose_on"] == "2026-11-23"
    assert set(outcome.answers) == set(ORDER)


def test_anything_else_at_the_review_asks_again():
    outcome = run(review(), "open it now please")
    assert outcome.says[0].invalid and outcome.state["step"] == "review" and outcome.effect == ""
    assert outcome.says[0].text == "That was not confirm, back, a number or cancel."


def test_cancel_at_the_review_records_nothing():
    assert run(review(), "cancel").effect == "cancelled"


def test_back_from_the_review_changes_the_last_answer_and_returns_to_the_review():
    state = review()
    outcome = run(state, "back")
    assert outcome.says[-1].question.id == "child_dob" and outcome.says[-1].text == (
        "Answer it again; your other answers are kept.")
    assert outcome.state["answers"] == state["answers"]  # kept
    outcome = run(outcome.state, "skip")
    assert outcome.state["step"] == "review" and outcome.state["answers"]["child_dob"] is None
    assert "15. The child's date of birth: (not given)" in outcome.says[-1].question.prompt
    assert run(outcome.state, "confirm").answers == {**state["answers"], "child_dob": None}


def test_a_number_at_the_review_changes_that_answer_and_keeps_the_rest():
    state = review()
    outcome = run(state, "2")
    assert outcome.says[-1].question.id == "arose_on"
    outcome = run(outcome.state, "2026-11-20")
    assert outcome.state["step"] == "review"
    assert "2. When did the disagreement or concern arise? Friday 20 November 2026" in outcome.says[-1].question.prompt
    assert run(outcome.state, "confirm").answers == {**state["answers"], "arose_on": "2026-11-20"}


def test_back_during_the_questions_keeps_answers_and_comes_back_to_where_it_was():
    state = answered_until("discussed_line_manager")
    outcome = run(state, "back", "back", "back")
    assert outcome.says[-1].question.id == "disputed"
    assert outcome.state["answers"] == state["answers"]
    outcome = run(outcome.state, "The decision to close the referral.")
    # the answers after it are kept: on to the first question not yet answered
    assert outcome.says[-1].question.id == "discussed_line_manager"
    assert outcome.state["answers"]["impact"] == state["answers"]["impact"]
    assert outcome.state["answers"]["disputed"] == "The decision to close the referral."


def test_back_at_the_first_question_stays_there():
    outcome = run(intake.start(SURREY, "t").state, "back")
    assert outcome.says[-1].text == "This is the first question."
    assert outcome.says[-1].question.id == "immediate_risk"


def test_back_to_the_partnership_keeps_the_answers_when_the_same_one_is_chosen_again():
    two = {"surrey": POLICIES["surrey"], "medway": POLICIES["medway"]}
    outcome = intake.start(two, "t")
    outcome = run(outcome.state, "surrey", "no", "today", "back", "back", "back", policies=two)
    assert outcome.state["step"] == intake.POLICY_STEP
    kept = run(outcome.state, "Surrey", policies=two)
    assert kept.state["answers"] == {"immediate_risk": False, "arose_on": "2026-11-23"}
    assert kept.says[-1].question.id == "other_agency"
    other = run(outcome.state, "medway", policies=two)
    assert other.state["answers"] == {} and other.says[-1].question.id == "immediate_risk"


# --- when the disagreement arose -------------------------------------------------------------------------------
def test_a_date_more_than_a_year_ago_is_asked_about_before_it_is_taken():
    state = answered_until("arose_on")
    outcome = run(state, "10/09/2025")
    assert outcome.says[-1].text == "Wednesday 10 September 2025 is 14 months ago."
    asked = outcome.says[-1].question
    assert asked.kind == "yes_no" and asked.prompt == "Is that right?"
    assert "arose_on" not in outcome.state["answers"]
    assert intake.current_question(outcome.state, SURREY) == asked  # (what a resumed dialog asks)
    taken = run(outcome.state, "yes")
    assert taken.state["answers"]["arose_on"] == "2025-09-10" and taken.says[-1].question.id == "other_agency"


def test_no_asks_for_the_date_again_and_a_new_date_may_be_typed_at_once():
    asked = run(answered_until("arose_on"), "2024-01-05")
    assert asked.says[-1].text == "Friday 5 January 2024 is 2 years and 10 months ago."
    again = run(asked.state, "no")
    assert again.says[-1].question.id == "arose_on" and again.says[-1].text == "Then please give the date again."
    assert "arose_on" not in again.state["answers"]
    assert run(asked.state, "back").says[-1].question.id == "arose_on"
    corrected = run(asked.state, "2026-01-05")  # the year mistyped: the right date given instead of a no
    assert corrected.state["answers"]["arose_on"] == "2026-01-05"
    puzzled = run(asked.state, "maybe")
    assert puzzled.says[-1].invalid and puzzled.says[-1].text == "Please answer yes or no, or give the date again."


@pytest.mark.parametrize(("typed", "asked"), [
    ("2025-11-23", False), ("2025-11-22", True), ("yesterday", False), ("2025-12-01", False),
])
def test_a_year_to_the_day_is_not_far(typed, asked):
    outcome = run(answered_until("arose_on"), typed)
    assert (outcome.says[-1].question.prompt == "Is that right?") is asked


def test_a_year_back_from_29_february():
    outcome = run(answered_until("arose_on"), "2027-02-27", today=date(2028, 2, 29))
    assert outcome.says[-1].question.prompt == "Is that right?" and "12 months ago" in outcome.says[-1].text
    outcome = run(answered_until("arose_on"), "2027-02-28", today=date(2028, 2, 29))
    assert outcome.says[-1].question.id == "other_agency"


def test_a_date_in_the_future_is_refused_at_once():
    outcome = run(answered_until("arose_on"), "2026-11-24")
    assert outcome.says[-1].invalid and outcome.says[-1].question.id == "arose_on"
    assert "in the future" in outcome.says[-1].text


def test_a_date_of_birth_is_not_today():
    outcome = run(answered_until("child_dob"), "today")
    assert outcome.says[-1].invalid and outcome.says[-1].question.id == "child_dob"
    assert "today or yesterday" not in outcome.says[-1].question.date_hint


# --- dialogs stored by an earlier version ---------------------------------------------------------------------
def test_a_dialog_stored_before_the_review_existed_still_resumes():
    """As stored before this version: no `pending`, no review; back had dropped the answer gone back to."""
    answers = {k: v for k, v in review()["answers"].items() if k != "child_dob"}
    old = {"dialog": "intake", "policy": "surrey", "answers": answers, "started_at": "2026-11-20T09:00:00+00:00",
           "step": "child_dob", "touched_at": "2026-11-20T09:05:00+00:00"}
    assert intake.current_question(old, SURREY).id == "child_dob"
    outcome = run(old, CHILD_DOB)
    assert outcome.state["step"] == "review" and outcome.state["started_at"] == old["started_at"]
    assert run(outcome.state, "confirm").effect == "open_case"
    earlier = {**old, "answers": {k: v for k, v in answers.items() if k in ORDER[:3]}, "step": ORDER[3]}
    assert run(earlier, "DS Jane Doe").says[-1].question.id == ORDER[4]

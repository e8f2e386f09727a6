"""Acting on a case: an agreed new date (Gloucestershire's extension) is checked when it is given, typed or in a
form, and nothing already answered is lost."""

from __future__ import annotations

from datetime import date

from dialogs import actions
from policies.loader import load_policies

POLICIES = load_policies()
GSCP = POLICIES["gloucestershire"]
TODAY = date(2026, 12, 21)  # Monday 21 December 2026
FORM = {"new_due": "2026-12-31", "agreed_here": "Lena Okafor", "agreed_other": "Priya Nair", "reason": "Leave"}


def started():
    return actions.start("extend", "ESC-2026-0001", GSCP, 1, "Extend").state


def test_the_new_date_is_asked_again_at_once_with_the_reason():
    state = started()
    for typed, why in [("2026-12-18", "The new date must be after today (Monday 21 December 2026)."),
                       ("today", "The new date must be after today (Monday 21 December 2026)."),
                       ("26/12/2026", "Saturday 26 December 2026 is Boxing Day, not a working day; choose Tuesday "
                                      "29 December 2026 or another working day."),
                       ("2026-12-27", "Sunday 27 December 2026 is not a working day; choose Tuesday 29 December "
                                      "2026 or another working day."),
                       ("2027-01-01", "Friday 1 January 2027 is New Year's Day, not a working day; choose Monday "
                                      "4 January 2027 or another working day.")]:
        outcome = actions.handle_text(state, typed, POLICIES, TODAY)
        assert outcome.says[0].invalid and outcome.says[0].text == why
        assert outcome.state == state and outcome.effect == ""


def test_the_answers_after_a_corrected_date_are_all_applied():
    state = started()
    outcome = actions.handle_text(state, "2026-12-28", POLICIES, TODAY)  # Boxing Day (observed)
    for typed in ("2026-12-30", "Lena Okafor, TM", "Priya Nair, DS", "School input needed."):
        outcome = actions.handle_text(outcome.state, typed, POLICIES, TODAY)
    assert outcome.effect == "apply" and outcome.answers == {
        "new_due": "2026-12-30", "agreed_here": "Lena Okafor, TM", "agreed_other": "Priya Nair, DS",
        "reason": "School input needed."}


def test_back_keeps_the_answers_given():
    outcome = actions.handle_text(started(), "2026-12-30", POLICIES, TODAY)
    outcome = actions.handle_text(outcome.state, "back", POLICIES, TODAY)
    assert outcome.says[0].question.id == "new_due" and outcome.state["answers"] == {"new_due": "2026-12-30"}


def test_a_form_shows_the_same_check_on_its_field():
    outcome = actions.check_form("extend", GSCP, 1, {**FORM, "new_due": "2026-12-25"}, TODAY)
    assert outcome.effect == "invalid"
    assert outcome.says[0].errors == {"new_due": "Friday 25 December 2026 is Christmas Day, not a working day; "
                                                 "choose Tuesday 29 December 2026 or another working day."}
    past = actions.check_form("extend", GSCP, 1, {**FORM, "new_due": "2026-12-21"}, TODAY)
    assert past.says[0].errors == {"new_due": "The new date must be after today (Monday 21 December 2026)."}
    assert actions.check_form("extend", GSCP, 1, FORM, TODAY).effect == "apply"


def test_an_extend_dialog_stored_by_an_earlier_version_resumes():
    old = {"dialog": "action", "action": "extend", "ref": "ESC-2026-0001", "policy": "gloucestershire",
           "expected_stage": 1, "step": "new_due", "answers": {}, "touched_at": "2026-12-21T09:00:00+00:00"}
    assert actions.handle_text(old, "2026-12-24", POLICIES, TODAY).state["step"] == "agreed_here"
    assert actions.handle_text(old, "2026-12-20", POLICIES, TODAY).says[0].invalid

"""Small dialogs for acting on a case (resolve, escalate, extend): the questions, asked one by one or as one form.

Each answer is checked when it is given, against the same rules the case applies later (an agreed new date is a
working day after today in the procedure's calendar), so a typed dialog asks that question again and a form shows the
problem on its field: nothing already answered is thrown away at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.dates.workdays import calendar_of
from dialogs.answers import parse_answer
from dialogs.intake import BACK_WORDS, CANCEL_WORDS, HELP_WORDS
from dialogs.outcome import Outcome, Say
from policies.model import Policy, Question

DIALOG = "action"
ACTIONS = ("resolve", "escalate", "extend")


def questions(action: str, policy: Policy, stage: int) -> tuple[Question, ...]:
    """What an action asks. Every seed requires written confirmation of the agreed outcome."""
    if action == "resolve":
        final = stage == policy.last_stage.number
        what = (f"Record the decision reached at the final stage ({policy.final_stage.description})"
                if final else "What outcome was agreed between the parties? This is the written confirmation "
                "the procedure requires.")
        return (
            Question("outcome", "text", what, cite=policy.source),
            Question("follow_up", "text", "How will any outstanding actions be followed up, and by whom?",
                     cite=policy.source),
        )
    if action == "escalate":
        return (Question("reason", "text", "Why is it being escalated: what remains unresolved?",
                         cite=policy.source),)
    return (
        Question("new_due", "date", "What new date have both agencies agreed?", cite=policy.extension.cite,
                 after_today=True, working_day=True),
        Question("agreed_here", "text", "Who agreed it in your agency? (name and role)", max_length=200,
                 cite=policy.extension.cite),
        Question("agreed_other", "text", "Who agreed it in the other agency? (name and role)", max_length=200,
                 cite=policy.extension.cite),
        Question("reason", "text", "Why is the new date needed?", cite=policy.extension.cite),
    )


def start(action: str, ref: str, policy: Policy, stage: int, intro: str) -> Outcome:
    first = questions(action, policy, stage)[0]
    state = {"dialog": DIALOG, "action": action, "ref": ref, "policy": policy.id, "expected_stage": stage,
             "step": first.id, "answers": {}}
    return Outcome(state, (Say(intro, question=first),))


def handle_text(state: dict[str, Any], text: str, policies: Mapping[str, Policy], today: date) -> Outcome:
    """One typed answer; when the last is given the effect is "apply" with all answers."""
    word = text.strip().lower()
    if word in CANCEL_WORDS:
        return Outcome(None, (Say(f"Cancelled. {state['ref']} was not changed."),), "cancelled")
    asked = questions(state["action"], policies[state["policy"]], state["expected_stage"])
    ids = [q.id for q in asked]
    index = ids.index(state["step"])
    question = asked[index]
    if word in HELP_WORDS:
        return Outcome(state, (Say("Answer the question, or type cancel to leave the case unchanged.",
                                     question=question),))
    if word in BACK_WORDS:
        previous = asked[max(0, index - 1)]
        return Outcome({**state, "step": previous.id}, (Say("", question=previous),))
    parsed = parse_answer(question, text, today, calendar_of(policies[state["policy"]]))
    if not parsed.ok:  # (a date is checked here, when it is given: asked again, and nothing answered is lost)
        return Outcome(state, (Say(parsed.error, question=question, invalid=True),))
    answers = {**state["answers"], question.id: parsed.value}
    if index + 1 < len(asked):
        return Outcome({**state, "answers": answers, "step": asked[index + 1].id},
                       (Say("", question=asked[index + 1]),))
    return Outcome(None, (), "apply", state["policy"], answers)


def check_form(action: str, policy: Policy, stage: int, values: Mapping[str, Any], today: date) -> Outcome:
    """All of an action's answers at once (Slack modal, Teams card); errors per question id."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    asked = questions(action, policy, stage)
    for question in asked:
        parsed = parse_answer(question, values.get(question.id), today, calendar_of(policy))
        if parsed.ok:
            answers[question.id] = parsed.value
        else:
            errors[question.id] = parsed.error
    if errors:
        return Outcome(None, (Say("Some answers need another look.", questions=asked, errors=errors),), "invalid")
    return Outcome(None, (), "apply", policy.id, answers)

"""The Stage 1 dialog: asks a procedure's clarifying questions, one by one or as one form, and decides the outcome.

Pure functions of (state, input, policies, today): they return what to say, the next state and an effect for the
engine to carry out ("open_case", "immediate_harm", "cancelled"). States name the current question by its id, never
by position, so a stored dialog survives a policy file adding or reordering questions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from dialogs.answers import parse_answer
from dialogs.outcome import Outcome, Say
from policies.model import Option, Policy, Question

DIALOG = "intake"
POLICY_STEP = "policy"
CANCEL_WORDS = {"cancel", "stop", "quit", "exit"}
BACK_WORDS = {"back", "undo"}
HELP_WORDS = {"help", "?"}
SAFETY_LINE = "If a child is in immediate danger, call 999 now."
SENSITIVE_INTRO = (
    "Last, optional details for the written record only. They are stored securely for authorised people and "
    "never shown in chat. Type skip to leave one out."
)


# Asked only when the practitioner is not in the directory, so the bot can still name who acts on their side.
RAISER_QUESTIONS = (
    Question("raiser_agency", "text", "You are not in this bot's directory yet. Which agency do you work for?",
             max_length=200),
    Question("raiser_role", "text", "What is your role?", max_length=200),
    Question("raiser_manager", "text", "Who is your line manager? (name, and email if you have it)",
             max_length=300),
)


def ordered_questions(policy: Policy, ask_raiser: bool = False) -> list[Question]:
    """The questions in the order asked: the file's order (plus who the raiser is, if the directory cannot say),
    with sensitive child details last."""
    plain = [q for q in policy.questions if not q.sensitive]
    if ask_raiser:
        plain = plain[:1] + list(RAISER_QUESTIONS) + plain[1:]
    return plain + [q for q in policy.questions if q.sensitive]


def policy_question(policies: Mapping[str, Policy]) -> Question:
    """The first question when a deployment runs several procedures."""
    return Question(
        id=POLICY_STEP,
        kind="choice",
        prompt="Which safeguarding partnership's procedure applies (the area the child lives in)?",
        help=SAFETY_LINE,
        options=tuple(Option(p.id, f"{p.name} ({p.short_name})") for p in policies.values()),
        cite="",
    )


def start(policies: Mapping[str, Policy], now_iso: str, ask_raiser: bool = False) -> Outcome:
    """Begin the dialog: the partnership question if several procedures are enabled, else the first question."""
    state: dict[str, Any] = {"dialog": DIALOG, "policy": None, "answers": {}, "started_at": now_iso,
                             "ask_raiser": ask_raiser}
    intro = "Let's record your disagreement. Type cancel at any time to stop, or back to change your last answer."
    if len(policies) == 1:
        policy = next(iter(policies.values()))
        state["policy"] = policy.id
        first = ordered_questions(policy, ask_raiser)[0]
        state["step"] = first.id
        return Outcome(state, (Say(f"{intro}\nProcedure: {policy.name}.", question=first),))
    state["step"] = POLICY_STEP
    return Outcome(state, (Say(intro, question=policy_question(policies)),))


def current_question(state: Mapping[str, Any], policies: Mapping[str, Policy]) -> Question | None:
    """The question the dialog is waiting on (None if its policy or question no longer exists)."""
    if state.get("step") == POLICY_STEP:
        return policy_question(policies)
    policy = policies.get(state.get("policy") or "")
    if policy is None:
        return None
    return next((q for q in ordered_questions(policy, state.get("ask_raiser", False)) if q.id == state.get("step")),
                None)


def handle_text(state: dict[str, Any], text: str, policies: Mapping[str, Policy], today: date) -> Outcome:
    """One typed answer (or cancel / back / help) in the one-by-one dialog."""
    word = text.strip().lower()
    if word in CANCEL_WORDS:
        return Outcome(None, (Say("Cancelled. Nothing was recorded. Type escalate to start again."),), "cancelled")
    question = current_question(state, policies)
    if question is None:
        return _restart(policies, "The procedure changed since you started, so let's begin again.", state)
    if word in HELP_WORDS:
        extra = question.help or "Answer the question, or type cancel to stop or back to go back."
        return Outcome(state, (Say(extra, question=question),))
    if word in BACK_WORDS:
        return _back(state, policies)
    parsed = parse_answer(question, text, today)
    if not parsed.ok:
        return Outcome(state, (Say(parsed.error, question=question, invalid=True),))
    if question.id == POLICY_STEP:
        return _choose_policy(state, policies[str(parsed.value)])
    policy = policies[state["policy"]]
    state = {**state, "answers": {**state["answers"], question.id: parsed.value}}
    if question.id == "immediate_risk" and parsed.value is True:
        return Outcome(None, (), "immediate_harm", policy.id, state["answers"])
    following = _after(policy, question.id, state.get("ask_raiser", False))
    if following is None:
        return Outcome({**state, "step": "done"}, (), "open_case", policy.id, state["answers"])
    preface = SENSITIVE_INTRO if following.sensitive and not question.sensitive else ""
    return Outcome({**state, "step": following.id}, (Say(preface, question=following),))


def submit_form(policy: Policy, values: Mapping[str, Any], today: date, ask_raiser: bool = False) -> Outcome:
    """A whole form submitted at once (Slack modal, Teams card): every answer checked, errors per question id."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    asked = ordered_questions(policy, ask_raiser)
    for question in asked:
        parsed = parse_answer(question, values.get(question.id), today)
        if parsed.ok:
            answers[question.id] = parsed.value
        else:
            errors[question.id] = parsed.error
        if question.id == "immediate_risk" and parsed.value is True:
            return Outcome(None, (), "immediate_harm", policy.id, answers)
    if errors:
        return Outcome(None, (Say("Some answers need another look.", questions=tuple(asked), errors=errors),),
                       "invalid")
    return Outcome(None, (), "open_case", policy.id, answers)


def _choose_policy(state: dict[str, Any], policy: Policy) -> Outcome:
    first = ordered_questions(policy, state.get("ask_raiser", False))[0]
    new_state = {**state, "policy": policy.id, "step": first.id, "answers": {}}
    return Outcome(new_state, (Say(f"Procedure: {policy.name}.", question=first),))


def _after(policy: Policy, question_id: str, ask_raiser: bool) -> Question | None:
    order = ordered_questions(policy, ask_raiser)
    ids = [q.id for q in order]
    index = ids.index(question_id)
    return order[index + 1] if index + 1 < len(order) else None


def _back(state: dict[str, Any], policies: Mapping[str, Policy]) -> Outcome:
    if state.get("step") == POLICY_STEP:
        return Outcome(state, (Say("This is the first question.", question=policy_question(policies)),))
    policy = policies[state["policy"]]
    order = ordered_questions(policy, state.get("ask_raiser", False))
    ids = [q.id for q in order]
    index = ids.index(state["step"])
    if index == 0:
        if len(policies) > 1:
            back = {**state, "step": POLICY_STEP, "policy": None, "answers": {}}
            return Outcome(back, (Say("", question=policy_question(policies)),))
        return Outcome(state, (Say("This is the first question.", question=order[0]),))
    previous = order[index - 1]
    answers = {k: v for k, v in state["answers"].items() if k != previous.id}
    return Outcome({**state, "step": previous.id, "answers": answers}, (Say("", question=previous),))


def _restart(policies: Mapping[str, Policy], why: str, state: Mapping[str, Any]) -> Outcome:
    """Begin again (the procedure changed under the dialog), as the same person: the dialog keeps its start time
    (its case, once opened, is opened once) and whether the raiser's own questions are asked."""
    fresh = start(policies, str(state.get("started_at", "")), bool(state.get("ask_raiser", False)))
    assert fresh.state is not None
    return Outcome(fresh.state, (Say(why), *fresh.says))

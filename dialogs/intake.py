"""The Stage 1 dialog: asks a procedure's clarifying questions, one by one or as one form, and decides the outcome.

Pure functions of (state, input, policies, today): they return what to say, the next state and an effect for the
engine to carry out ("open_case", "immediate_harm", "cancelled"). States name the current question by its id, never
by position, so a stored dialog survives a policy file adding or reordering questions.

One by one, each answer is checked as it is given; a date of the disagreement more than a year ago is asked about
(`pending` holds it until a yes); after the last answer the answers are shown back (step "review") and the case opens
only on "confirm". `back` (or a number at the review) goes to an earlier question and keeps every answer: the next
answer given goes on to the first question not yet answered, or the review. A dialog stored by an earlier version
(no `pending`, no review) resumes as it was and gets the review at its end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from dialogs.answers import long_date, parse_answer, show_answer, yes_or_no
from dialogs.outcome import Outcome, Say
from policies.model import Option, Policy, Question

DIALOG = "intake"
POLICY_STEP = "policy"
CANCEL_WORDS = {"cancel", "stop", "quit", "exit"}
BACK_WORDS = {"back", "undo"}
HELP_WORDS = {"help", "?"}
CONFIRM_WORDS = {"confirm", "confirmed", "yes", "y", "ok", "open", "open it", "open the case"}
REVIEW_STEP = "review"
REVIEW_HELP = ("Type confirm to open the case, back to change the last answer, a number to change that answer, or "
               "cancel to stop.")
# A date asked again before it is taken when it is more than a year before today: clocks count from when the
# disagreement arose, and a mistyped year (2025 for 2026) would make every stage overdue at once. The product's own
# check, not a procedure's: none of the five sets a limit on how old a disagreement may be. (The future is refused.)
CHECK_FAR_PAST = ("arose_on",)
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
    intro = ("Let's record your disagreement. Type cancel at any time to stop, or back to change your last answer. "
             "Your answers are shown to you before the case is opened.")
    if len(policies) == 1:
        policy = next(iter(policies.values()))
        state["policy"] = policy.id
        first = ordered_questions(policy, ask_raiser)[0]
        state["step"] = first.id
        return Outcome(state, (Say(f"{intro}\nProcedure: {policy.name}.", question=first),))
    state["step"] = POLICY_STEP
    return Outcome(state, (Say(intro, question=policy_question(policies)),))


def current_question(state: Mapping[str, Any], policies: Mapping[str, Policy]) -> Question | None:
    """The question the dialog is waiting on (None if its policy or question no longer exists): a Stage 1 question,
    the check of a date far in the past, or the review before the case opens."""
    if state.get("step") == POLICY_STEP:
        return policy_question(policies)
    policy = policies.get(state.get("policy") or "")
    if policy is None:
        return None
    order = ordered_questions(policy, state.get("ask_raiser", False))
    if state.get("step") == REVIEW_STEP:
        return review_question(policy, order, state.get("answers", {}), len(policies) > 1)
    question = next((q for q in order if q.id == state.get("step")), None)
    if question is not None and state.get("pending"):
        return _confirm_question(question)
    return question


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
    if state.get("step") == REVIEW_STEP:
        return _reviewed(state, word, policies)
    if state.get("pending"):
        said = yes_or_no(text)
        asked = current_question({**state, "pending": None}, policies)
        assert asked is not None
        if said is True:
            return _answered(state, asked, state["pending"], policies)
        if said is False:
            return Outcome({**state, "pending": None}, (Say("Then please give the date again.", question=asked),))
        parsed = parse_answer(asked, text, today)
        if not parsed.ok:  # (neither a yes nor a no, nor another date)
            return Outcome(state, (Say("Please answer yes or no, or give the date again.", question=question,
                                       invalid=True),))
        question, state = asked, {**state, "pending": None}
    else:
        parsed = parse_answer(question, text, today)
    if not parsed.ok:
        return Outcome(state, (Say(parsed.error, question=question, invalid=True),))
    if question.id == POLICY_STEP:
        return _choose_policy(state, policies[str(parsed.value)], policies)
    if question.id in CHECK_FAR_PAST and _far_past(date.fromisoformat(parsed.value), today):
        when = date.fromisoformat(parsed.value)
        return Outcome({**state, "pending": parsed.value},
                       (Say(f"{long_date(when)} is {_ago(when, today)} ago.", question=_confirm_question(question)),))
    return _answered(state, question, parsed.value, policies)


def _answered(state: dict[str, Any], question: Question, value: Any, policies: Mapping[str, Policy]) -> Outcome:
    """An answer taken: on to the first question not yet answered (answers given before a `back` are kept), else
    the review."""
    policy = policies[state["policy"]]
    state = {**state, "pending": None, "answers": {**state["answers"], question.id: value}}
    if question.id == "immediate_risk" and value is True:
        return Outcome(None, (), "immediate_harm", policy.id, state["answers"])
    order = ordered_questions(policy, state.get("ask_raiser", False))
    following = next((q for q in order if q.id not in state["answers"]), None)
    if following is None:
        review = review_question(policy, order, state["answers"], len(policies) > 1)
        return Outcome({**state, "step": REVIEW_STEP}, (Say("", question=review),))
    preface = SENSITIVE_INTRO if following.sensitive and not question.sensitive else ""
    return Outcome({**state, "step": following.id}, (Say(preface, question=following),))


def review_question(policy: Policy, order: Sequence[Question], answers: Mapping[str, Any], several: bool) -> Question:
    """The answers, numbered, before the case opens: structured answers as given; free text and a child's details
    only as "(given)" (chat never carries them back)."""
    lines = ["Please check your answers before the case is opened:"]
    if several:
        lines.append(f"  Procedure: {policy.name}")
    for number, question in enumerate(order, 1):
        label = _label(question)
        label += "" if label.endswith("?") else ":"
        lines.append(f"  {number}. {label} {_shown(question, answers.get(question.id))}")
    return Question(REVIEW_STEP, "text", "\n".join(lines), help=REVIEW_HELP)


def _label(question: Question) -> str:
    """A question's prompt, short: without a last "(...)", nor the words after a comma that say what it is for."""
    label = re.sub(r"\s*\([^)]*\)\s*\.?$", "", question.prompt).rstrip(" .")
    return re.sub(r", for the written record only$", "", label)


def _shown(question: Question, value: Any) -> str:
    if value is None:
        return "(not given)"
    if question.sensitive or question.kind == "text":
        return "(given)"
    if question.kind == "date":
        return long_date(date.fromisoformat(str(value)))
    return show_answer(question, value)


def _reviewed(state: dict[str, Any], word: str, policies: Mapping[str, Policy]) -> Outcome:
    """The answer to the review: confirm opens the case; a number goes to that answer (the others are kept)."""
    policy = policies[state["policy"]]
    order = ordered_questions(policy, state.get("ask_raiser", False))
    if word.rstrip(".!") in CONFIRM_WORDS:
        return Outcome({**state, "step": "done"}, (), "open_case", policy.id, state["answers"])
    if word.isascii() and word.isdigit() and 1 <= int(word) <= len(order):
        chosen = order[int(word) - 1]
        return Outcome({**state, "step": chosen.id}, (Say("", question=chosen),))
    review = review_question(policy, order, state["answers"], len(policies) > 1)
    return Outcome(state, (Say("That was not confirm, back, a number or cancel.", question=review, invalid=True),))


def _confirm_question(question: Question) -> Question:
    """The yes / no asked about a date far in the past before it is taken."""
    return Question(question.id, "yes_no", "Is that right?", help="Answer no to give the date again.",
                    cite=question.cite)


def _far_past(day: date, today: date) -> bool:
    """More than a year before today (a year to the day is not)."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # (29 February)
        year_ago = today.replace(year=today.year - 1, day=28)
    return day < year_ago


def _ago(day: date, today: date) -> str:
    """'14 months', or '3 years and 2 months': whole months between the two dates."""
    months = (today.year - day.year) * 12 + today.month - day.month - (today.day < day.day)
    years, left = divmod(months, 12)
    if years < 2:
        return f"{months} months"
    return f"{years} years" + (f" and {left} month{'s' if left > 1 else ''}" if left else "")


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


def _choose_policy(state: dict[str, Any], policy: Policy, policies: Mapping[str, Policy]) -> Outcome:
    """The partnership chosen: its first question; the same one chosen again (after back) keeps the answers."""
    if policy.id == state.get("policy") and state.get("answers"):
        return _answered_all_so_far(state, policy, policies)
    first = ordered_questions(policy, state.get("ask_raiser", False))[0]
    new_state = {**state, "policy": policy.id, "step": first.id, "answers": {}, "pending": None}
    return Outcome(new_state, (Say(f"Procedure: {policy.name}.", question=first),))


def _answered_all_so_far(state: dict[str, Any], policy: Policy, policies: Mapping[str, Policy]) -> Outcome:
    order = ordered_questions(policy, state.get("ask_raiser", False))
    following = next((q for q in order if q.id not in state["answers"]), None)
    if following is None:
        return Outcome({**state, "step": REVIEW_STEP},
                       (Say("", question=review_question(policy, order, state["answers"], len(policies) > 1)),))
    return Outcome({**state, "step": following.id}, (Say(f"Procedure: {policy.name}.", question=following),))


def _back(state: dict[str, Any], policies: Mapping[str, Policy]) -> Outcome:
    """The question before the one waiting (from the review: the last one), its answer and every other kept; from a
    date's check, that date's question again."""
    if state.get("step") == POLICY_STEP:
        return Outcome(state, (Say("This is the first question.", question=policy_question(policies)),))
    policy = policies[state["policy"]]
    order = ordered_questions(policy, state.get("ask_raiser", False))
    if state.get("pending"):
        asked = next(q for q in order if q.id == state["step"])
        return Outcome({**state, "pending": None}, (Say("", question=asked),))
    ids = [q.id for q in order]
    index = len(order) if state["step"] == REVIEW_STEP else ids.index(state["step"])
    if index == 0:
        if len(policies) > 1:
            return Outcome({**state, "step": POLICY_STEP}, (Say("", question=policy_question(policies)),))
        return Outcome(state, (Say("This is the first question.", question=order[0]),))
    previous = order[index - 1]
    return Outcome({**state, "step": previous.id}, (Say(_kept(state, previous), question=previous),))


def _kept(state: Mapping[str, Any], question: Question) -> str:
    """What going back to an answered question says (its answer is never repeated)."""
    if question.id not in state.get("answers", {}):
        return ""
    return "Answer it again; your other answers are kept."


def _restart(policies: Mapping[str, Policy], why: str, state: Mapping[str, Any]) -> Outcome:
    """Begin again (the procedure changed under the dialog), as the same person: the dialog keeps its start time
    (its case, once opened, is opened once) and whether the raiser's own questions are asked."""
    fresh = start(policies, str(state.get("started_at", "")), bool(state.get("ask_raiser", False)))
    assert fresh.state is not None
    return Outcome(fresh.state, (Say(why), *fresh.says))

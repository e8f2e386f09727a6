"""The forms every channel shows the same way: the Stage 1 form in two steps (start, then intake) and the form for
acting on a case, built from the procedures' questions; and the checks of what comes back, before anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.conversation.commands import SAFETY
from bot.types import ACTION_LABELS, Form
from dialogs import actions, intake
from dialogs.outcome import Outcome
from policies.model import Policy

TITLE = "Escalate a disagreement"
SENSITIVE_HEADING = "For the written record only — never shown in chat"
SENSITIVE_NOTE = "Optional. Stored securely for authorised people; never repeated in any chat message."
RISK = "immediate_risk"


class Forms:
    """The forms for the procedures this deployment runs."""

    def __init__(self, policies: Mapping[str, Policy]) -> None:
        self.policies = policies
        asked = [intake.policy_question(policies)] if len(policies) > 1 else []
        asked += [q for q in next(iter(policies.values())).questions if q.id == RISK]
        # The same object every time: a channel may keep its rendering (Slack's first modal is on a hot path).
        self.start = Form("start", TITLE, "Next", tuple(asked), intro=SAFETY, command="escalate")

    def policy_of(self, policy_id: str) -> Policy | None:
        """The procedure a form names (None for one not run here); a form naming none, with only one run, that one."""
        if not policy_id and len(self.policies) == 1:
            return next(iter(self.policies.values()))
        return self.policies.get(policy_id)

    def intake(self, policy: Policy, ask_raiser: bool) -> Form:
        """The rest of the Stage 1 questions (who the raiser is too, when the directory cannot say)."""
        questions = tuple(q for q in intake.ordered_questions(policy, ask_raiser) if q.id != RISK)
        return Form("intake", TITLE, "Open the case", questions, intro=f"{policy.name} ({policy.source})",
                    policy=policy.id, sensitive_heading=SENSITIVE_HEADING, sensitive_note=SENSITIVE_NOTE,
                    command="escalate")

    def action(self, action: str, policy: Policy, ref: str, stage: int) -> Form:
        label = ACTION_LABELS[action]
        return Form("action", f"{label} {ref}", label, actions.questions(action, policy, stage),
                    intro=f"{label} {ref} ({policy.stage_title(stage)})", policy=policy.id, action=action,
                    case_ref=ref, stage=stage, command=f"{action} {ref}")

    def check_start(self, answers: Mapping[str, Any]) -> tuple[Policy | None, dict[str, str]]:
        """The procedure chosen on the first step, and the problems with its answers."""
        policy = self.policy_of(str(answers.get("policy") or ""))
        errors = {}
        if policy is None:
            errors["policy"] = "Please choose the partnership."
        if answers.get(RISK) not in ("yes", "no", True, False):
            errors[RISK] = "Please answer yes or no."
        return policy, errors

    @staticmethod
    def check_intake(policy: Policy, answers: Mapping[str, Any], today: date, ask_raiser: bool,
                     risk_answered: bool) -> Outcome:
        """Every Stage 1 answer checked (the immediate-risk question was answered on the first step when
        `risk_answered`); errors per question id."""
        values = {**answers, RISK: "no"} if risk_answered else answers
        return intake.submit_form(policy, values, today, ask_raiser)

    @staticmethod
    def check_action(action: str, policy: Policy, stage: int, answers: Mapping[str, Any], today: date) -> Outcome:
        return actions.check_form(action, policy, stage, answers, today)

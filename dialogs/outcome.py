"""What a dialog step decides: what to say (Say) and what happens next (Outcome). The core turns these into Replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from policies.model import Question

# What the engine must do once a step is decided: open the case, give the immediate-harm route, apply an action to a
# case, or nothing more than say what was said ("" while questions go on, "cancelled", "invalid").
Effect = Literal["", "open_case", "immediate_harm", "apply", "cancelled", "invalid"]


@dataclass(frozen=True)
class Say:
    """One thing to say: words, and the question (or, for a whole form, the questions with `errors`) to ask."""

    text: str
    question: Question | None = None
    questions: tuple[Question, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)
    invalid: bool = False  # an answer was not taken; the question is asked again


@dataclass(frozen=True)
class Outcome:
    """What the dialog decided: the next state (None when it is over), what to say, and an effect."""

    state: dict[str, Any] | None
    says: tuple[Say, ...]
    effect: Effect = ""
    policy_id: str = ""
    answers: Mapping[str, Any] = field(default_factory=dict)

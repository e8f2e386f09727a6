"""A review reminder on a stage with no timescale asks about the next stage by its procedure's own name, and at the
last stage does not ask about a next one; the summary's text names stages as its procedure does."""

from __future__ import annotations

from datetime import date

from bot.jobs import nudges
from bot.summary import figures
from policies.loader import load_policies


def test_a_review_reminder_names_the_next_stage_and_asks_none_at_the_last() -> None:
    policy = load_policies(ids=("lincolnshire",))["lincolnshire"]
    first, last = policy.stages[0].number, policy.last_stage.number
    case = {"ref": "ESC-2026-0001", "stage": first, "stage_due": None, "policy": policy.id}
    early = nudges.text(policy, case, "review", "", "")  # type: ignore[arg-type]
    assert f"or does it need to go to {policy.stage_label} {first + 1}?" in early
    final = nudges.text(policy, {**case, "stage": last}, "review", "", "")  # type: ignore[arg-type]
    assert final.endswith("please review progress: is it resolved?") and "next" not in final.split("review")[-1]


def test_the_summary_names_stages_as_its_procedure_does() -> None:
    policies = load_policies(ids=("lincolnshire",))
    figs = figures.figures([], policies, date(2026, 11, 23))
    figs["open_by_stage"] = {"3": 1}
    assert f"({policies['lincolnshire'].stage_label} 3: 1)" in figures.text(figs, policies)

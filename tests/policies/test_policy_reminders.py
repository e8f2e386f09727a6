"""`[reminders]`: how often an overdue stage is chased and when the safeguarding leads are told; the format's
defaults where a file says nothing, a file's own values where it does, and a clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_policy_validation import SURREY, assert_error, broken

from policies.loader import load_policies, load_policy
from policies.model import REMINDERS_LEAD_AFTER, REMINDERS_OVERDUE_EVERY, Reminders


def with_reminders(body: str) -> str:
    return SURREY + "\n[reminders]\n" + body + "\n"


def test_defaults_are_two_working_days_and_five_working_days_overdue() -> None:
    assert (REMINDERS_OVERDUE_EVERY, REMINDERS_LEAD_AFTER) == (2, 5)
    assert Reminders() == Reminders(overdue_every=2, lead_after=5, cite="")


def test_files_without_the_table_take_the_defaults() -> None:
    """No seed procedure says how often to chase an overdue stage or when to tell a lead (policies/README.md)."""
    for policy in load_policies().values():
        assert policy.reminders == Reminders(), policy.id


def test_a_file_sets_its_own(tmp_path: Path) -> None:
    text = with_reminders('# Our partnership agreement, 4.2\noverdue_every = 1\nlead_after = 3\ncite = "NSCP 4.2"')
    assert load_policy(broken(tmp_path, text)).reminders == Reminders(overdue_every=1, lead_after=3, cite="NSCP 4.2")


def test_a_file_sets_one_and_keeps_the_other_default(tmp_path: Path) -> None:
    assert load_policy(broken(tmp_path, with_reminders("lead_after = 10"))).reminders == Reminders(lead_after=10)
    assert load_policy(broken(tmp_path, with_reminders("overdue_every = 4"))).reminders == Reminders(overdue_every=4)


@pytest.mark.parametrize(("body", "field", "words"), [
    ("overdue_every = 0", "reminders.overdue_every", ("must be between 1 and 20", "found 0")),
    ("overdue_every = 21", "reminders.overdue_every", ("must be between 1 and 20", "found 21")),
    ('overdue_every = "2"', "reminders.overdue_every", ("must be a whole number",)),
    ("overdue_every = 1.5", "reminders.overdue_every", ("must be a whole number",)),
    ("lead_after = 0", "reminders.lead_after", ("must be between 1 and 60", "found 0")),
    ("lead_after = true", "reminders.lead_after", ("must be a whole number",)),
    ('cite = ""', "reminders.cite", ("must be a non-empty text string",)),
    ("every = 2", "reminders.every", ("is not a field this format knows",)),
])
def test_bad_values_are_refused_with_the_field_named(tmp_path: Path, body: str, field: str,
                                                     words: tuple[str, ...]) -> None:
    assert_error(broken(tmp_path, with_reminders(body)), field, *words)


def test_reminders_must_be_a_table(tmp_path: Path) -> None:
    assert_error(broken(tmp_path, "reminders = 2\n" + SURREY), "reminders", "must be a table")

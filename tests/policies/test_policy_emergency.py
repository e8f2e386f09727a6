"""Each procedure's emergency route: the procedure's own words with their cite, the product's advice after it."""

from __future__ import annotations

import pytest
from conftest import POLICY_IDS, SEED_IDS


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_the_emergency_route_cites_only_the_procedures_words(all_policies, policy_id):
    """The product's own advice (999, a referral where the seed names none) comes after the cite, never before it."""
    harm = all_policies[policy_id].immediate_harm
    assert harm.text == f"{harm.route} ({harm.cite})" + (f" {harm.guidance}" if harm.guidance else "")
    if policy_id in SEED_IDS:  # none of the five seeds gives the 999 line: it is the product's advice
        assert "999" not in harm.route and "999" in harm.guidance

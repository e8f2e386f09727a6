"""Each procedure's emergency route: the procedure's own words with their cite, the product's advice after it."""

from __future__ import annotations

import pytest

from policies.loader import load_policies


@pytest.mark.parametrize("policy_id", ["surrey", "bcssp", "lincolnshire", "medway", "gloucestershire"])
def test_the_emergency_route_cites_only_the_procedures_words(policy_id):
    """The product's own advice (999, a referral where the seed names none) comes after the cite, never before it."""
    harm = load_policies(ids=(policy_id,))[policy_id].immediate_harm
    assert "999" not in harm.route and "999" in harm.guidance
    assert harm.text == f"{harm.route} ({harm.cite}) {harm.guidance}"

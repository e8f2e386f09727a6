"""The /escalate modal kept serialised: the same view as start_modal, per channel and per set of procedures."""

from __future__ import annotations

import json

from adapters.slack import views
from policies.loader import load_policies


def test_start_modal_json_is_the_start_modal_for_that_channel():
    policies = load_policies(ids=("surrey",))
    for channel in ("C0CASES01", "D0DIRECT1", ""):
        view = json.loads(views.start_modal_json(policies, channel))
        assert view == views.start_modal(policies, {"channel": channel})
        assert views.metadata(view) == {"channel": channel}


def test_start_modal_json_follows_a_new_set_of_procedures():
    one = load_policies(ids=("surrey",))
    assert "partnership" not in views.start_modal_json(one, "C1")
    several = load_policies(ids=("surrey", "medway"))
    view = json.loads(views.start_modal_json(several, "C1"))
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["policy", "immediate_risk"]
    assert json.loads(views.start_modal_json(one, "C1")) == views.start_modal(one, {"channel": "C1"})

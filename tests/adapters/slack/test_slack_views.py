"""The /escalate modal kept serialised: the same view as start_modal, per channel and per set of procedures."""

from __future__ import annotations

import json

from adapters.slack import views
from bot.types import Reply
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


def test_metadata_text_is_cut_to_fit_slacks_limit_however_it_encodes():
    for text in ("plain " * 600, "👍" * 1000, "名前" * 900, "a\"b\\" * 700, "short"):
        cut = views.fit_metadata(text)
        assert text.startswith(cut) and len(json.dumps(cut)) <= 1500
        meta = {"action": "resolve", "ref": "ESC-2026-0001", "stage": 1, "channel": "C0CASES01",
                "ts": "1700000000.000001", "text": cut}
        modal = views.action_modal(Reply("Resolve ESC-2026-0001", case_ref="ESC-2026-0001"), "resolve", meta)
        assert len(modal["private_metadata"]) <= 3000 and views.metadata(modal)["text"] == cut
    assert views.fit_metadata("short") == "short"


def test_metadata_text_keeps_the_longest_prefix_that_fits():
    text = "a" * 1400 + "👍" * 100
    cut = views.fit_metadata(text)
    assert len(json.dumps(cut)) <= 1500 < len(json.dumps(text[: len(cut) + 1]))

"""The /escalate modal kept serialised: the same view as the start form's modal, per channel and set of procedures;
a submitted modal read back whatever shape it arrives in."""

from __future__ import annotations

import json

import pytest

from adapters.slack import views
from bot.conversation.forms import Forms
from policies.loader import load_policies


def start(*ids: str):
    return Forms(load_policies(ids=ids)).start


def test_the_kept_first_modal_is_the_start_forms_modal_for_that_channel():
    form = start("surrey")
    for channel in ("C0CASES01", "D0DIRECT1", ""):
        view = json.loads(views.modal_json(form, channel))
        assert view == views.modal(form, {"channel": channel})
        assert views.metadata(view) == {"step": "start", "channel": channel}


def test_the_kept_first_modal_follows_a_new_set_of_procedures():
    one = start("surrey")
    assert "partnership" not in views.modal_json(one, "C1")
    several = start("surrey", "medway")
    view = json.loads(views.modal_json(several, "C1"))
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["policy", "immediate_risk"]
    assert json.loads(views.modal_json(one, "C1")) == views.modal(one, {"channel": "C1"})


def test_metadata_text_is_cut_to_fit_slacks_limit_however_it_encodes():
    for text in ("plain " * 600, "👍" * 1000, "名前" * 900, "a\"b\\" * 700, "short"):
        cut = views.fit_metadata(text)
        assert text.startswith(cut) and len(json.dumps(cut)) <= 1500
        meta = {"action": "resolve", "ref": "ESC-2026-0001", "stage": 1, "channel": "C0CASES01",
                "ts": "1700000000.000001", "text": cut}
        form = Forms(load_policies(ids=("surrey",))).action("resolve", load_policies(ids=("surrey",))["surrey"],
                                                            "ESC-2026-0001", 1)
        modal = views.modal(form, meta)
        assert len(modal["private_metadata"]) <= 3000 and views.metadata(modal)["text"] == cut
    assert views.fit_metadata("short") == "short"


def test_metadata_text_keeps_the_longest_prefix_that_fits():
    text = "a" * 1400 + "👍" * 100
    cut = views.fit_metadata(text)
    assert len(json.dumps(cut)) <= 1500 < len(json.dumps(text[: len(cut) + 1]))


@pytest.mark.parametrize("values", [
    {"child_name": ["a", "list"]}, {"child_name": {"answer": ["x"]}}, {"child_name": {"answer": {"value": 7}}},
    {"child_name": {"answer": {"selected_option": "nope"}}}, [], "text", None, {"x": None},
])
def test_a_submitted_modal_of_any_shape_reads_as_absent_answers(values):
    assert views.values({"state": {"values": values}}) == {}
    assert views.values({"state": values}) == {}


def test_a_submitted_modal_reads_each_kind_of_input():
    state = {"values": {"a": {"answer": {"value": "typed"}}, "b": {"answer": {"selected_option": {"value": "yes"}}},
                        "c": {"answer": {"selected_date": "2026-11-23"}}, "d": {"answer": {"value": None}}}}
    assert views.values({"state": state}) == {"a": "typed", "b": "yes", "c": "2026-11-23"}

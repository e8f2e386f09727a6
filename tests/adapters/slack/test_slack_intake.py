"""Intake through Slack end to end: the start modal, the emergency route, validation, the case root and thread."""

from __future__ import annotations

from datetime import datetime

from conftest import CHILD_DOB, CHILD_NAME
from slack_server import (  # noqa: F401  (fixtures)
    ANSWERS,
    CASES_CHANNEL,
    JORDAN,
    LENA,
    slack_bot,
    slack_bot_dm,
)
from slack_support import slash_command, view_submission

from bot.dates.workdays import LONDON


def _no_child_details(bot) -> None:
    everything = bot.everything()
    assert CHILD_NAME not in everything and CHILD_DOB not in everything
    assert "3 February 2015" not in everything and "03/02/2015" not in everything


async def test_modal_opens_with_the_trigger_id_and_asks_about_immediate_risk_first(slack_bot):
    body = slash_command(JORDAN)
    trigger = dict(p.split("=", 1) for p in body.split("&"))["trigger_id"]
    response = await slack_bot.post(body)
    assert response.status == 200
    (opened,) = await slack_bot.until(lambda: slack_bot.fake.called("views.open"), "views.open")
    assert opened["trigger_id"] == trigger
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"] == "escalate_start"
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert inputs[0]["block_id"] == "immediate_risk"
    assert inputs[0]["element"]["type"] == "radio_buttons"
    assert {o["value"] for o in inputs[0]["element"]["options"]} == {"yes", "no"}


async def test_immediate_risk_yes_shows_the_emergency_route_records_it_and_dms_the_reference(slack_bot):
    start = await slack_bot.start_modal()
    status, ack = await slack_bot.post_json(view_submission(JORDAN, start, {"immediate_risk": "yes"}, "VRISK"))
    assert status == 200
    assert ack["response_action"] == "update"
    shown = str(ack["view"])
    assert "Single Point of Access (C-SPA)" in shown and "SSCP 4.9" in shown and "999" in shown
    (dm,) = await slack_bot.until(lambda: slack_bot.posts(channel=JORDAN), "the reference by DM")
    cases = await slack_bot.store.scan("cases")
    assert len(cases) == 1
    ref, case = cases[0]
    assert case["status"] == "immediate_harm" and case["policy"] == "surrey"
    assert ref in dm["text"] and "C-SPA" in dm["text"]
    assert not slack_bot.posts(channel=CASES_CHANNEL)  # no case thread for an emergency record


async def test_start_modal_without_an_answer_gets_an_error_against_the_field(slack_bot):
    start = await slack_bot.start_modal()
    before = slack_bot.snapshot()
    status, ack = await slack_bot.post_json(view_submission(JORDAN, start, {}, "VEMPTY"))
    assert status == 200 and ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"immediate_risk"}
    await slack_bot.settle()
    assert slack_bot.snapshot() == before


async def test_validation_errors_are_keyed_by_question_id_and_nothing_is_stored(slack_bot):
    intake = await slack_bot.intake_modal()
    inputs = [b["block_id"] for b in intake["blocks"] if b["type"] == "input"]
    assert "immediate_risk" not in inputs and "arose_on" in inputs and "child_name" in inputs
    before = slack_bot.snapshot()
    calls = len(slack_bot.fake.calls)
    bad = {**ANSWERS, "arose_on": "2026-12-25", "other_agency": ""}
    status, ack = await slack_bot.post_json(view_submission(JORDAN, intake, bad, "VBAD"))
    assert status == 200 and ack["response_action"] == "errors"
    assert {"arose_on", "other_agency"} <= set(ack["errors"])
    assert set(ack["errors"]) <= set(inputs)  # every error sits against a field the modal shows
    await slack_bot.settle()
    assert slack_bot.snapshot() == before
    assert await slack_bot.store.keys("cases") == []
    assert len(slack_bot.fake.calls) == calls


async def test_case_root_in_the_cases_channel_and_confirmation_by_dm(slack_bot):
    case = await slack_bot.open_case()
    ref = case["ref"]
    (root,) = slack_bot.posts(channel=CASES_CHANNEL)
    assert "thread_ts" not in root  # the root starts the thread
    assert ref in root["text"]
    assert "Stage 1" in root["text"] and "Internal Discussion" in root["text"]
    assert "25 November 2026" in root["text"]  # two working days from Monday 23 November
    assert "Lena Okafor" in root["text"] and f"<@{LENA}>" in root["text"]  # who must act at Surrey stage 1, notified
    (dm,) = slack_bot.posts(channel=JORDAN)
    assert ref in dm["text"] and "What to do:" in dm["text"] and "line manager" in dm["text"]
    assert case["thread"] == {"channel": "slack", "conversation": CASES_CHANNEL, "thread": slack_bot.fake.ts_of(root)}
    assert case["status"] == "open" and case["stage"] == 1 and case["stage_due"] == "2026-11-25"
    _no_child_details(slack_bot)


async def test_without_a_cases_channel_the_case_thread_is_a_dm_with_the_practitioner(slack_bot_dm):
    bot = slack_bot_dm
    case = await bot.open_case()
    posts = bot.fake.called("chat.postMessage")
    assert all(p["channel"] == JORDAN for p in posts)  # nothing goes to any channel
    root = next(p for p in posts if "Escalation " in p["text"] and "thread_ts" not in p)
    assert case["ref"] in root["text"]
    conversation, ts = case["thread"]["conversation"], case["thread"]["thread"]
    assert conversation == "D" + JORDAN[1:] and ts  # the DM channel Slack answered with, and the root's ts
    assert any(case["ref"] in p["text"] and "What to do:" in p["text"] for p in posts)
    _no_child_details(bot)


async def test_without_a_cases_channel_nudges_go_into_the_dm_thread(slack_bot_dm):
    bot = slack_bot_dm
    case = await bot.open_case()
    sent = await bot.tick(datetime(2026, 11, 24, 9, 0, tzinfo=LONDON))
    assert [s.kind for s in sent] == ["before"]
    nudge = bot.fake.called("chat.postMessage")[-1]
    assert nudge["channel"] == case["thread"]["conversation"] and nudge["thread_ts"] == case["thread"]["thread"]
    assert case["ref"] in nudge["text"]

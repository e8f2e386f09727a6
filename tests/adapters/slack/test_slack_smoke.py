"""End to end over HTTP: /escalate in Slack through to a case thread, against the fake Slack Web API."""

from __future__ import annotations

import json

from conftest import CHILD_DOB, CHILD_NAME
from slack_server import slack_bot  # noqa: F401  (the fixture)
from slack_support import slash_command, view_submission

JORDAN = "U0DEMO0001"  # practitioner@example.org in the demo directory


async def test_escalate_opens_modal_then_case_thread(slack_bot):
    response = await slack_bot.post(slash_command(JORDAN))
    assert response.status == 200
    (opened,) = await slack_bot.until(lambda: slack_bot.fake.called("views.open"), "views.open")
    start = opened["view"]
    assert start["callback_id"] == "escalate_start"
    assert [b["block_id"] for b in start["blocks"] if b["type"] == "input"] == ["immediate_risk"]

    status, ack = await slack_bot.post_json(view_submission(JORDAN, start, {"immediate_risk": "no"}, "V1"))
    assert status == 200 and ack["response_action"] == "update"
    intake = ack["view"]
    answers = {
        "arose_on": "2026-11-23", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
        "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed referral",
        "impact": "Risk continues", "desired_change": "Strategy discussion", "discussed_line_manager": "yes",
        "discussed_other": "yes", "child_status": "none", "child_name": CHILD_NAME, "child_dob": CHILD_DOB,
    }
    bad = {**answers, "arose_on": "2026-12-25"}
    status, ack = await slack_bot.post_json(view_submission(JORDAN, intake, bad, "V2"))
    assert ack["response_action"] == "errors" and "arose_on" in ack["errors"]

    status, ack = await slack_bot.post_json(view_submission(JORDAN, intake, answers, "V2"))
    assert status == 200 and not ack
    posts = await slack_bot.until(lambda: len(slack_bot.fake.called("chat.postMessage")) >= 2 and
                                  slack_bot.fake.called("chat.postMessage"), "root and confirmation")
    root = posts[0]
    assert root["channel"] == "C0CASES01" and "ESC-2026-0001" in root["text"]
    case = await slack_bot.core.store.get("cases", "ESC-2026-0001")
    assert case["thread"] == {"channel": "slack", "conversation": "C0CASES01", "thread": "1700000000.000001"}
    everything = json.dumps([c.args for c in slack_bot.fake.calls])
    assert CHILD_NAME not in everything and CHILD_DOB not in everything

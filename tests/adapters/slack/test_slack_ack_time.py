"""Slow work never delays the ack past Slack's 3 seconds: with the fake Slack slow to answer, the HTTP answer to
the slash command and to the intake submission arrives while the fake is still sleeping."""

from __future__ import annotations

import asyncio

from slack_server import ANSWERS, CASES_CHANNEL, JORDAN, slack_bot  # noqa: F401
from slack_support import slash_command, view_submission

SLOW = 1.5  # seconds the fake Slack takes to answer views.open and chat.postMessage


async def test_acks_do_not_wait_for_slow_slack_calls(slack_bot):
    fake = slack_bot.fake
    fake.delay.update({"views.open": SLOW, "chat.postMessage": SLOW})

    response = await slack_bot.post(slash_command(JORDAN))
    assert response.status == 200
    assert not fake.finished("views.open").is_set()  # answered before the modal call came back
    (opened,) = await slack_bot.until(lambda: fake.called("views.open"), "views.open")
    await asyncio.wait_for(fake.finished("views.open").wait(), timeout=10)

    fake.delay.pop("views.open")
    status, ack = await slack_bot.post_json(view_submission(JORDAN, opened["view"], {"immediate_risk": "no"}, "VS1"))
    assert status == 200 and ack["response_action"] == "update"

    status, ack = await slack_bot.post_json(view_submission(JORDAN, ack["view"], ANSWERS, "VS2"))
    assert status == 200 and not ack
    assert not fake.finished("chat.postMessage").is_set()  # the case root is still being posted
    await asyncio.wait_for(fake.finished("chat.postMessage").wait(), timeout=10)
    fake.delay.clear()
    await slack_bot.until(lambda: len(fake.called("chat.postMessage")) >= 2, "root and confirmation")
    assert fake.called("chat.postMessage")[0]["channel"] == CASES_CHANNEL

"""The child's name and date of birth never reach a Slack message; logs at INFO and above never carry the child's
name, the bot token or the signing secret, not even for a refused request whose body carries the child's name."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

from conftest import CHILD_DOB, CHILD_NAME
from slack_server import ANSWERS, CASES_CHANNEL, EMMA, JORDAN, LENA, SlackBot, slack_bot  # noqa: F401
from slack_support import SECRET, TOKEN, fixture, signed_headers, slash_command, view_submission
from test_slack_case_thread import TUESDAY_9, action_modal, click, nudged

FORM = "application/x-www-form-urlencoded"
DOB_FORMS = (CHILD_DOB, "3 February 2015", "03/02/2015", "3 Feb 2015", "Tuesday 3 February 2015")


def assert_no_child_details(bot: SlackBot) -> None:
    everything = bot.everything()
    assert CHILD_NAME not in everything
    assert CHILD_NAME.split()[0] not in everything  # not even the first name
    for dob in DOB_FORMS:
        assert dob not in everything, dob


def sensitive_log_lines(caplog) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    found = []
    for record in caplog.records:
        if record.levelno < logging.INFO:
            continue
        line = formatter.format(record)  # with any traceback
        if any(secret in line for secret in (CHILD_NAME, CHILD_NAME.split()[0], CHILD_DOB, TOKEN, SECRET)):
            found.append(line)
    return found


async def test_no_message_carries_the_childs_name_or_dob_through_a_whole_journey(slack_bot):
    # An emergency record first, then a case with the child's details, a nudge, a refusal and a resolution.
    start = await slack_bot.start_modal()
    await slack_bot.post_json(view_submission(JORDAN, start, {"immediate_risk": "yes"}, "VRISKP"))
    await slack_bot.until(lambda: slack_bot.posts(channel=JORDAN), "the emergency DM")
    case, nudge = await nudged(slack_bot)
    await slack_bot.post(slash_command(JORDAN, f"status {case['ref']}"))
    await click(slack_bot, EMMA, "resolve", nudge)
    modal = await action_modal(slack_bot, LENA, "resolve", nudge)
    await slack_bot.post_json(view_submission(LENA, modal, {"outcome": "Agreed.", "follow_up": "None."}, "VRP"))
    await slack_bot.until(lambda: slack_bot.fake.called("chat.update"), "the nudge's update")
    await slack_bot.settle()
    stored = await slack_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved"
    assert CHILD_NAME in json.dumps(stored)  # the written record keeps it...
    assert_no_child_details(slack_bot)  # ...and no chat message ever shows it
    assert {c.method for c in slack_bot.fake.calls} >= {"views.open", "chat.postMessage", "chat.postEphemeral",
                                                        "chat.update"}


async def test_logs_at_info_and_above_never_carry_the_childs_name_token_or_secret(slack_bot, caplog):
    caplog.set_level(logging.DEBUG)
    intake = await slack_bot.intake_modal()
    named = view_submission(JORDAN, intake, ANSWERS, "VLOG")
    assert CHILD_NAME in named.replace("+", " ")

    # Refused requests whose bodies carry the child's name: forged, unsigned, stale, malformed, oversized.
    for headers in (signed_headers(named, FORM, secret="forged-secret"), {"Content-Type": FORM},
                    signed_headers(named, FORM, stamp=int(time.time()) - 600)):
        assert (await slack_bot.post(named, headers=headers)).status == 401
    broken = urlencode({"payload": '{"child_name": "' + CHILD_NAME + '"'})
    assert (await slack_bot.post(broken)).status == 400
    big = urlencode({"payload": json.dumps({"child_name": CHILD_NAME, "pad": "x" * 300_000})})
    assert (await slack_bot.post(big)).status == 413
    # Signed requests no listener handles, carrying the child's name (bolt warns about unhandled requests).
    unknown_view = view_submission(JORDAN, {**intake, "callback_id": "not_ours"}, ANSWERS, "VUNKNOWN")
    assert (await slack_bot.post(unknown_view)).status < 500
    clicked = fixture("block_actions.json")
    clicked["actions"][0]["value"] = CHILD_NAME
    assert (await slack_bot.post(urlencode({"payload": json.dumps(clicked)}))).status < 500

    # The real journey, with a Slack error on the way (logged with its code).
    assert (await slack_bot.post(named)).status == 200
    await slack_bot.until(lambda: len(slack_bot.fake.called("chat.postMessage")) >= 2, "root and confirmation")
    slack_bot.fake.fail["chat.postMessage"] = "token_revoked"
    await slack_bot.tick(TUESDAY_9)
    await slack_bot.settle()

    assert any(r.levelno >= logging.WARNING and "token_revoked" in r.getMessage() for r in caplog.records)
    assert sensitive_log_lines(caplog) == []
    assert (await slack_bot.store.keys("cases")) == ["ESC-2026-0001"]  # only the real submission opened a case


async def test_a_refused_forged_request_logs_nothing_identifying(slack_bot, caplog):
    caplog.set_level(logging.DEBUG)
    body = urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": JORDAN},
                                             "view": {"callback_id": "escalate_submit", "state": {"values": {
                                                 "child_name": {"answer": {"value": CHILD_NAME}}}}}})})
    response = await slack_bot.post(body, headers=signed_headers(body, FORM, secret="wrong"))
    assert response.status == 401
    assert caplog.records  # it was logged...
    assert sensitive_log_lines(caplog) == []  # ...without the body
    assert slack_bot.fake.calls == []

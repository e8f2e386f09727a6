"""The case thread in Slack: scheduler nudges with buttons, acting through a modal, refusals, double clicks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_server import CASES_CHANNEL, CHRIS, EMMA, JORDAN, LENA, SAM, SlackBot, slack_bot  # noqa: F401
from slack_support import button_click, view_submission

from bot.dates.workdays import LONDON

TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=LONDON)  # one working day before the stage 1 due date
RESOLVE = {"outcome": "Strategy discussion agreed for Thursday.", "follow_up": "Lena Okafor will check on Friday."}


async def nudged(bot: SlackBot) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open a case, run the scheduler on Tuesday 09:00; return the case and the nudge as posted."""
    case = await bot.open_case()
    sent = await bot.tick(TUESDAY_9)
    assert [(s.ref, s.kind) for s in sent] == [(case["ref"], "before")]
    root_ts = case["thread"]["thread"]
    (nudge,) = bot.posts(channel=CASES_CHANNEL, thread_ts=root_ts)
    nudge["ts"] = bot.fake.ts_of(nudge)
    return case, nudge


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def click(bot: SlackBot, user: str, action: str, nudge: dict[str, Any]) -> str:
    """A click on the nudge's button for `action` (built like the others if the nudge does not offer it: a click
    on an older message, or a crafted payload)."""
    found = [b for b in buttons(nudge) if b["action_id"] == f"case_{action}"]
    value = found[0]["value"] if found else buttons(nudge)[0]["value"]
    body = button_click(user, f"case_{action}", value, CASES_CHANNEL, nudge["ts"], nudge["text"])
    response = await bot.post(body)
    assert response.status == 200
    return str(json.loads(parse_qs(body)["payload"][0])["trigger_id"])


async def action_modal(bot: SlackBot, user: str, action: str, nudge: dict[str, Any]) -> dict[str, Any]:
    count = len(bot.fake.called("views.open"))
    trigger = await click(bot, user, action, nudge)
    opened = await bot.until(lambda: bot.fake.called("views.open")[count:], "the action modal")
    assert opened[0]["trigger_id"] == trigger  # opened straight away with the click's trigger id
    return opened[0]["view"]


async def test_nudge_goes_into_the_case_thread_mentioning_who_must_act_with_buttons(slack_bot):
    case, nudge = await nudged(slack_bot)
    assert nudge["channel"] == CASES_CHANNEL and nudge["thread_ts"] == case["thread"]["thread"]
    assert f"<@{LENA}>" in nudge["text"] and case["ref"] in nudge["text"]
    assert "due tomorrow" in nudge["text"]
    found = buttons(nudge)
    # Surrey does not allow the timescale to be changed, so no Extend button is offered (see the extend test).
    assert [b["action_id"] for b in found] == ["case_resolve", "case_escalate", "case_record"]
    assert {b["value"] for b in found} == {json.dumps({"ref": case["ref"], "stage": 1}, separators=(",", ":"))}
    assert all(json.loads(b["value"]) == {"ref": case["ref"], "stage": 1} for b in found)
    assert await slack_bot.tick(TUESDAY_9) == []  # sent once


async def test_entitled_click_opens_modal_and_submit_applies_once_posts_and_updates_the_nudge(slack_bot):
    case, nudge = await nudged(slack_bot)
    modal = await action_modal(slack_bot, LENA, "resolve", nudge)
    assert modal["callback_id"] == "case_action"
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == ["outcome", "follow_up"]
    posts_before = len(slack_bot.fake.called("chat.postMessage"))
    status, ack = await slack_bot.post_json(view_submission(LENA, modal, RESOLVE, "VRESOLVE"))
    assert status == 200 and not ack
    (update,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.update"), "the nudge's update")
    assert update["channel"] == CASES_CHANNEL and update["ts"] == nudge["ts"]
    assert not [b for b in update["blocks"] if b["type"] == "actions"]
    assert f"<@{LENA}>" in json.dumps(update["blocks"])
    stored = await slack_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved"
    assert stored["outcome"]["stage"] == 1
    (told,) = slack_bot.posts(thread_ts=case["thread"]["thread"])[1:]  # after the nudge
    assert told["channel"] == CASES_CHANNEL and "is resolved" in told["text"]
    assert len(slack_bot.fake.called("chat.postMessage")) == posts_before + 1


async def test_the_practitioner_can_escalate_from_the_nudge(slack_bot):
    case, nudge = await nudged(slack_bot)
    modal = await action_modal(slack_bot, JORDAN, "escalate", nudge)
    status, ack = await slack_bot.post_json(
        view_submission(JORDAN, modal, {"reason": "Still no strategy discussion."}, "VESC"))
    assert status == 200 and not ack
    await slack_bot.until(lambda: slack_bot.fake.called("chat.update"), "the nudge's update")
    stored = await slack_bot.store.get("cases", case["ref"])
    assert stored["status"] == "open" and stored["stage"] == 2
    moved = slack_bot.posts(thread_ts=case["thread"]["thread"])[-1]
    assert "escalated to Stage 2" in moved["text"]
    # Whoever must act at the new stage is @mentioned, as in Teams: Jordan and Chris Walker at Surrey Stage 2.
    assert moved["text"].startswith(f"<@{JORDAN}> <@{CHRIS}> ")


async def test_an_empty_action_form_gets_errors_against_its_fields_and_changes_nothing(slack_bot):
    _case, nudge = await nudged(slack_bot)
    modal = await action_modal(slack_bot, LENA, "resolve", nudge)
    before = slack_bot.snapshot()
    status, ack = await slack_bot.post_json(view_submission(LENA, modal, {}, "VEMPTYRESOLVE"))
    assert status == 200 and ack["response_action"] == "errors" and "outcome" in ack["errors"]
    await slack_bot.settle()
    assert slack_bot.snapshot() == before
    assert not slack_bot.fake.called("chat.update")


async def test_a_click_from_someone_not_entitled_is_refused_privately_and_changes_nothing(slack_bot):
    _case, nudge = await nudged(slack_bot)
    before, calls = slack_bot.snapshot(), len(slack_bot.fake.calls)
    await click(slack_bot, EMMA, "resolve", nudge)
    (refusal,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the refusal")
    assert refusal["user"] == EMMA and refusal["channel"] == CASES_CHANNEL
    assert "cannot find a case" in refusal["text"]
    await slack_bot.settle()
    assert [c.method for c in slack_bot.fake.calls[calls:]] == ["chat.postEphemeral"]  # no modal, no post
    assert slack_bot.snapshot() == before
    (refused,) = await slack_bot.refusals()  # the refusal is audited: who, when, what, and the case
    assert refused == {"at": refused["at"], "by": f"slack:{EMMA}", "action": "access_refused",
                       "ref": _case["ref"], "policy": "surrey", "detail": "resolve"}


async def test_a_forged_action_submission_from_someone_not_entitled_changes_nothing(slack_bot):
    """Even with a modal in hand (private_metadata copied), the submit re-checks who is acting."""
    _case, nudge = await nudged(slack_bot)
    modal = await action_modal(slack_bot, LENA, "resolve", nudge)
    before = slack_bot.snapshot()
    status, _ = await slack_bot.post_json(view_submission(EMMA, modal, RESOLVE, "VFORGED"))
    assert status == 200
    (refusal,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the refusal")
    assert refusal["user"] == EMMA
    await slack_bot.settle()
    assert slack_bot.snapshot() == before
    assert not slack_bot.fake.called("chat.update")


async def test_a_safeguarding_lead_may_act(slack_bot):
    _case, nudge = await nudged(slack_bot)
    modal = await action_modal(slack_bot, SAM, "escalate", nudge)
    assert modal["callback_id"] == "case_action"


async def test_extend_on_surrey_is_refused_in_the_procedures_own_words(slack_bot):
    _case, nudge = await nudged(slack_bot)
    assert "case_extend" not in [b["action_id"] for b in buttons(nudge)]
    before, calls = slack_bot.snapshot(), len(slack_bot.fake.calls)
    await click(slack_bot, JORDAN, "extend", nudge)
    (refusal,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the refusal")
    assert refusal["user"] == JORDAN
    assert "Resolution should be sought within the shortest timescale possible" in refusal["text"]
    assert "SSCP 4.7 and 6.2" in refusal["text"]
    await slack_bot.settle()
    assert not slack_bot.fake.called("views.open")[1:]  # only the /escalate modal earlier
    assert [c.method for c in slack_bot.fake.calls[calls:]] == ["chat.postEphemeral"]
    assert slack_bot.snapshot() == before


@pytest.mark.parametrize("second_user", [LENA, JORDAN], ids=["same-user", "late-second-actor"])
async def test_double_click_second_submit_is_refused_with_what_already_happened(slack_bot, second_user):
    case, nudge = await nudged(slack_bot)
    first = await action_modal(slack_bot, LENA, "escalate", nudge)
    slack_bot.clock.advance(seconds=10)  # (the form open in two windows: a click apart, not a double click)
    second = await action_modal(slack_bot, second_user, "escalate", nudge)
    thread_posts = len(slack_bot.posts(thread_ts=case["thread"]["thread"]))
    status, ack = await slack_bot.post_json(view_submission(LENA, first, {"reason": "No reply."}, "VDBL1"))
    assert status == 200 and not ack
    await slack_bot.until(lambda: slack_bot.fake.called("chat.update"), "the nudge's update")
    status, ack = await slack_bot.post_json(view_submission(second_user, second, {"reason": "No reply."}, "VDBL2"))
    assert status == 200 and not ack
    (refusal,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the refusal")
    assert refusal["user"] == second_user
    assert "already moved on to Stage 2" in refusal["text"] and "Nothing was changed" in refusal["text"]
    await slack_bot.settle()
    stored = await slack_bot.store.get("cases", case["ref"])
    assert stored["stage"] == 2 and len(stored["stages"]) == 2  # one transition
    assert len([e for e in stored["events"] if "escalat" in str(e)]) == 1
    assert len(slack_bot.posts(thread_ts=case["thread"]["thread"])) == thread_posts + 1  # one thread message
    assert len(slack_bot.fake.called("chat.update")) == 1


async def test_a_seriously_overdue_stage_mentions_the_safeguarding_leads_in_the_case_thread(slack_bot):
    """Surrey Stage 1 due Wednesday 25 November; 5 working days overdue on Wednesday 2 December: that day's reminder,
    in the case's private thread, @mentions the leads of both agencies (Maria Lopez, Sam Patel) with Lena."""
    case = await slack_bot.open_case()
    sent = await slack_bot.tick(datetime(2026, 12, 2, 9, 0, tzinfo=LONDON))
    assert [(s.ref, s.kind) for s in sent] == [(case["ref"], "lead")]
    (nudge,) = slack_bot.posts(channel=CASES_CHANNEL, thread_ts=case["thread"]["thread"])
    assert f"<@{LENA}>" in nudge["text"] and f"<@{SAM}>" in nudge["text"] and "<@U0DEMO0003>" in nudge["text"]
    assert f"<@{CHRIS}>" not in nudge["text"]  # (Stage 1 is internal: the police DC is not asked to act)
    assert "Safeguarding leads Maria Lopez and Sam Patel" in nudge["text"]
    assert "5 working days overdue" in nudge["text"]
    assert await slack_bot.tick(datetime(2026, 12, 2, 9, 30, tzinfo=LONDON)) == []

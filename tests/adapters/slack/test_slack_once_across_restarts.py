"""Once is once, across restarts too: a validly signed request replayed after the bot restarted (inside Slack's five
minutes) has no second effect, nor has a form sent again; a double click opens one form."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote

from slack_server import CASES_CHANNEL, JORDAN, LENA, slack_bot  # noqa: F401
from slack_support import button_click, signed_headers, slash_command, view_submission
from test_slack_case_thread import RESOLVE, nudged

FORM = "application/x-www-form-urlencoded"


async def replay_after_restart(bot, aiohttp_server, body: str) -> None:
    headers = signed_headers(body, FORM)
    assert (await bot.post(body, headers=headers)).status == 200
    await bot.settle()
    await bot.restart(aiohttp_server)
    assert (await bot.post(body, headers=headers)).status == 200  # the same bytes, the same signature
    await bot.settle()


async def test_an_effect_replayed_after_a_restart_happens_once(slack_bot, aiohttp_server):
    case = await slack_bot.open_case()
    ref = case["ref"]
    for text in (f"harm {ref}", f"contact {ref} Sam Lee, DI, 01632 960000", f"done {ref} 1"):
        await replay_after_restart(slack_bot, aiohttp_server, slash_command(LENA, text))
    stored = await slack_bot.store.get("cases", ref)
    actions = [e["action"] for e in stored["events"]]
    assert actions.count("immediate_harm_route_given") == 1 and actions.count("contact_recorded") == 1
    assert actions.count("duty_done") <= 1  # (Surrey's first stage may have no duty to mark: at most once)


async def test_a_record_replayed_after_a_restart_is_sent_once(slack_bot, aiohttp_server):
    case = await slack_bot.open_case()
    await replay_after_restart(slack_bot, aiohttp_server, slash_command(JORDAN, f"record {case['ref']}"))
    await slack_bot.settle()
    assert len(slack_bot.fake.called("files.completeUploadExternal")) == 1
    logged = [d for _, d in await slack_bot.store.scan("audit_log") if d["action"] == "record_downloaded"]
    assert len(logged) == 1


async def test_a_form_sent_again_after_a_restart_has_one_effect(slack_bot, aiohttp_server):
    case, nudge = await nudged(slack_bot)
    value = next(e for b in nudge["blocks"] if b["type"] == "actions" for e in b["elements"])["value"]
    click = button_click(LENA, "case_resolve", value, CASES_CHANNEL, slack_bot.fake.ts_of(nudge), nudge["text"])
    await slack_bot.post(click)
    (modal,) = await slack_bot.until(lambda: slack_bot.fake.called("views.open")[1:], "the form")
    body = view_submission(LENA, modal["view"], RESOLVE, "VONCE")
    await replay_after_restart(slack_bot, aiohttp_server, body)
    stored = await slack_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved" and [e["action"] for e in stored["events"]].count("resolved") == 1
    resolved = [p for p in slack_bot.posts(thread_ts=case["thread"]["thread"]) if "is resolved" in p["text"]]
    assert len(resolved) == 1


async def test_a_double_click_opens_one_form(slack_bot):
    _case, nudge = await nudged(slack_bot)
    value = next(e for b in nudge["blocks"] if b["type"] == "actions" for e in b["elements"])["value"]
    first = button_click(LENA, "case_resolve", value, CASES_CHANNEL, slack_bot.fake.ts_of(nudge), nudge["text"])
    payload = json.loads(parse_qs(first)["payload"][0])
    payload["trigger_id"] += "-again"  # the second click: its own request and trigger, the same action_ts
    second = "payload=" + quote(json.dumps(payload))
    assert (await slack_bot.post(first)).status == 200
    assert (await slack_bot.post(second)).status == 200
    await slack_bot.settle()
    assert len(slack_bot.fake.called("views.open")) == 2  # the /escalate form at the start, and one for the click


async def test_two_quick_clicks_of_one_button_open_one_form_and_a_later_click_opens_it_again(slack_bot):
    _case, nudge = await nudged(slack_bot)
    value = next(e for b in nudge["blocks"] if b["type"] == "actions" for e in b["elements"])["value"]
    first = button_click(LENA, "case_resolve", value, CASES_CHANNEL, slack_bot.fake.ts_of(nudge), nudge["text"])
    payload = json.loads(parse_qs(first)["payload"][0])
    payload["trigger_id"] += "-again"  # a real double click: two requests, each with its own trigger and action_ts
    payload["actions"][0]["action_ts"] = str(float(payload["actions"][0]["action_ts"]) + 0.25)
    second = "payload=" + quote(json.dumps(payload))
    assert (await slack_bot.post(first)).status == 200
    assert (await slack_bot.post(second)).status == 200
    await slack_bot.settle()
    assert len(slack_bot.fake.called("views.open")) == 2  # the /escalate form at the start, and one for the clicks

    slack_bot.clock.advance(seconds=60)  # the form closed, and a minute later the button clicked again
    payload["trigger_id"] += "-later"
    payload["actions"][0]["action_ts"] = str(float(payload["actions"][0]["action_ts"]) + 60)
    assert (await slack_bot.post("payload=" + quote(json.dumps(payload)))).status == 200
    await slack_bot.settle()
    assert len(slack_bot.fake.called("views.open")) == 3  # the form closed and the button clicked again: it opens

"""Repeats over HTTP: a refused or invalid card can be sent again properly; a double click or a retried invoke has one
effect (and a retried invoke gets the same 200 answer as the first)."""

from __future__ import annotations

import asyncio

from teams_server import TeamsHarness, inputs, submit_data, teams_bot  # noqa: F401
from teams_support import BEN, JORDAN, LENA, SAM, card_submit, execute_invoke, personal_chat, personal_message
from test_teams_case_thread import RESOLVE, action_card, buttons, click, nudged


async def test_an_action_card_sent_back_with_a_problem_can_then_be_sent_corrected(teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    form = await action_card(teams_bot, LENA, "resolve", nudge, thread)
    (again,) = await teams_bot.submit(LENA, thread, form, {**submit_data(form.card or {}), "outcome": ""})
    assert again.method == "update" and "needs an answer" in again.text
    assert submit_data(again.card or {}) == submit_data(form.card or {})  # the same card, shown again

    calls = await teams_bot.submit(LENA, thread, form, {**submit_data(again.card or {}), **RESOLVE})
    stored = await teams_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved" and stored["outcome"]["stage"] == 1
    assert "already sent" not in "\n".join(c.text for c in calls)
    assert {c.activity_id for c in calls if c.method == "update"} == {form.given, nudge.given}
    (told,) = [c for c in calls if c.method in ("send", "reply")]
    assert told.conversation == thread and "is resolved" in told.text


async def test_someone_entitled_can_send_an_action_card_after_someone_else_was_refused_with_it(
        teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    form = await action_card(teams_bot, LENA, "resolve", nudge, thread)
    before = teams_bot.snapshot()
    forged = await teams_bot.submit(BEN, thread, form, {**submit_data(form.card or {}), **RESOLVE})
    assert [c.method for c in forged] == ["reply"] and "cannot find a case" in forged[0].text
    assert teams_bot.snapshot() == before

    calls = await teams_bot.submit(LENA, thread, form, {**submit_data(form.card or {}), **RESOLVE})
    stored = await teams_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved"
    assert any("Resolved by Lena Okafor" in c.text for c in calls if c.activity_id == nudge.given)


async def test_a_retried_action_execute_invoke_gets_the_same_200_answer_and_no_second_effect(teams_bot: TeamsHarness):
    invoke = execute_invoke(teams_bot.connector)
    first = await teams_bot.post(invoke)
    calls = len(teams_bot.fake.calls)
    events = len(await teams_bot.store.scan("events"))
    assert first[0] == 200 and "out of date" in first[1]
    assert await teams_bot.post(invoke) == first
    assert len(teams_bot.fake.calls) == calls and len(await teams_bot.store.scan("events")) == events


async def test_a_retried_file_consent_invoke_gets_the_same_200_answer_and_no_second_effect(teams_bot: TeamsHarness):
    case = await teams_bot.open_case()
    await teams_bot.say(JORDAN, f"record {case['ref']}")
    invoke = personal_message(JORDAN, "", teams_bot.connector)
    invoke.pop("text")
    invoke.update(type="invoke", name="fileConsent/invoke", value={
        "type": "fileUpload", "action": "accept", "context": {"ref": case["ref"]},
        "uploadInfo": {"name": "record.docx", "uploadUrl": f"{teams_bot.connector}upload/record.docx",
                       "contentUrl": "https://contoso-my.sharepoint.com/record.docx", "uniqueId": "u-1",
                       "fileType": "docx"}})
    first = await teams_bot.post(invoke)
    assert first == (200, "{}") and list(teams_bot.fake.uploads) == ["record.docx"]
    calls = len(teams_bot.fake.calls)
    teams_bot.fake.uploads.clear()
    assert await teams_bot.post(invoke) == first
    assert not teams_bot.fake.uploads and len(teams_bot.fake.calls) == calls  # not uploaded or shown twice


def intake_cards(bot: TeamsHarness, since: int) -> list:
    return [c for c in bot.fake.calls[since:] if c.method in ("send", "reply") and c.card and inputs(c.card)]


async def test_a_double_click_on_next_posts_one_stage_1_form(teams_bot: TeamsHarness):
    start = await teams_bot.start_card()
    value = {**submit_data(start.card or {}), "immediate_risk": "no"}
    clicks = [card_submit(JORDAN, value, teams_bot.connector, personal_chat(JORDAN), start.given) for _ in range(2)]
    before = len(teams_bot.fake.calls)
    assert [s for s, _ in await asyncio.gather(*(teams_bot.post(c) for c in clicks))] == [200, 200]
    assert len(intake_cards(teams_bot, before)) == 1
    later = await teams_bot.submit(JORDAN, personal_chat(JORDAN), start, value)  # and a late third click
    assert [c.method for c in later] == ["reply"] and "already sent" in later[0].text and not later[0].card


async def test_next_with_a_problem_claims_nothing_so_it_can_be_clicked_again(teams_bot: TeamsHarness):
    start = await teams_bot.start_card()
    (again,) = await teams_bot.submit(JORDAN, personal_chat(JORDAN), start, submit_data(start.card or {}))
    assert again.method == "update" and "yes or no" in again.text
    before = len(teams_bot.fake.calls)
    await teams_bot.submit(JORDAN, personal_chat(JORDAN), start, {**submit_data(start.card or {}),
                                                                   "immediate_risk": "no"})
    assert len(intake_cards(teams_bot, before)) == 1


async def test_a_double_click_on_a_nudge_button_posts_one_action_card_per_person(teams_bot: TeamsHarness):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    (resolve,) = [b["data"] for b in buttons(nudge) if b["data"]["_action"] == "resolve"]
    clicks = [card_submit(LENA, resolve, teams_bot.connector, thread, nudge.given) for _ in range(2)]
    before = len(teams_bot.fake.calls)
    await asyncio.gather(*(teams_bot.post(c) for c in clicks))
    posted = teams_bot.fake.calls[before:]
    assert len([c for c in posted if c.card and inputs(c.card)]) == 1
    assert len(posted) == 2 and any("already in this conversation" in c.text for c in posted)

    # Someone else's click, or another button, is a click of its own; a refused click claims nothing.
    (refused,) = await teams_bot.submit(BEN, thread, nudge, resolve)
    assert "cannot find a case" in refused.text
    assert not [k for k, _ in await teams_bot.store.scan("events") if BEN[0] in k]
    (sams,) = await teams_bot.submit(SAM, thread, nudge, resolve)
    (escalate,) = await teams_bot.submit(LENA, thread, nudge, {**resolve, "_action": "escalate"})
    assert inputs(sams.card or {}) and inputs(escalate.card or {})


async def test_the_emergency_route_is_shown_on_every_click_even_after_a_failed_turn(teams_bot: TeamsHarness,
                                                                                     monkeypatch):
    start = await teams_bot.start_card(JORDAN)
    chat = personal_chat(JORDAN)
    real, calls = teams_bot.core.engine.handle, {"n": 0}

    async def fails_once(event, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        return await real(event, **kwargs)

    monkeypatch.setattr(teams_bot.core.engine, "handle", fails_once)
    await teams_bot.submit(JORDAN, chat, start, {**submit_data(start.card), "immediate_risk": "yes"})
    retry = await teams_bot.submit(JORDAN, chat, start, {**submit_data(start.card), "immediate_risk": "yes"})
    assert any("Immediate risk of harm: act now" in c.text for c in retry)
    again = await teams_bot.submit(JORDAN, chat, start, {**submit_data(start.card), "immediate_risk": "yes"})
    assert any("Immediate risk of harm: act now" in c.text for c in again)  # never "already sent"
    assert len(await teams_bot.store.keys("cases")) == 1  # recorded once


async def test_a_click_whose_card_could_not_be_posted_can_be_made_again(teams_bot: TeamsHarness):
    start = await teams_bot.start_card(JORDAN)
    chat = personal_chat(JORDAN)
    teams_bot.fake.fail[chat] = 502  # Teams refuses the Stage 1 card, once
    await teams_bot.submit(JORDAN, chat, start, {**submit_data(start.card), "immediate_risk": "no"})
    teams_bot.fake.fail.clear()
    retry = await teams_bot.submit(JORDAN, chat, start, {**submit_data(start.card), "immediate_risk": "no"})
    assert any(c.card and inputs(c.card) for c in retry), [c.text for c in retry]

    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    teams_bot.fake.fail[thread] = 502  # the action card is refused
    await click(teams_bot, LENA, "resolve", nudge, thread)
    teams_bot.fake.fail.clear()
    again = await click(teams_bot, LENA, "resolve", nudge, thread)
    assert any(c.card and inputs(c.card) for c in again), [c.text for c in again]


async def test_the_same_button_later_is_a_new_click_not_a_double_one(teams_bot: TeamsHarness):
    from datetime import timedelta

    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    await action_card(teams_bot, LENA, "resolve", nudge, thread)
    double = await click(teams_bot, LENA, "resolve", nudge, thread)
    assert any("already in this conversation" in c.text for c in double)
    teams_bot.clock.set(teams_bot.clock.now() + timedelta(hours=2))
    later = await click(teams_bot, LENA, "resolve", nudge, thread)
    assert any(c.card and inputs(c.card) for c in later), [c.text for c in later]

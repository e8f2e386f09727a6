"""Bot Connector errors (403 bot not in the conversation, 404, 429 throttling): logged, the case stays consistent,
and a proactive send that fails is retried by the scheduler, not lost."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import pytest
from teams_server import ANSWERS, TUESDAY_9, TeamsHarness, submit_data, teams_bot  # noqa: F401
from teams_support import CASES_CHANNEL, JORDAN, LENA, card_submit, personal_chat, personal_message
from test_teams_case_thread import RESOLVE, action_card, nudged

from bot.dates.workdays import LONDON

STATUSES = (403, 404, 429)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("status", STATUSES)
async def test_a_nudge_teams_refuses_is_logged_and_retried_by_a_later_tick(teams_bot: TeamsHarness, caplog, status):
    case = await teams_bot.open_case()
    thread = case["thread"]["conversation"]
    teams_bot.fake.fail[thread] = status
    assert [s.kind for s in await teams_bot.tick(TUESDAY_9)] == ["before"]  # queued
    assert [c.status for c in teams_bot.fake.calls if c.conversation == thread] == [status]  # tried once
    assert any(f"HTTP {status}" in w for w in warnings(caplog))
    letter = await teams_bot.store.get("outbox", f"nudge:{case['ref']}:1:before:2026-11-24")
    assert letter["status"] == "pending" and letter["attempts"] == 1  # not lost, not "sent"
    stored = await teams_bot.store.get("cases", case["ref"])
    assert stored["status"] == "open" and stored["thread"] == case["thread"]

    del teams_bot.fake.fail[thread]
    assert await teams_bot.tick(datetime(2026, 11, 24, 9, 0, 5, tzinfo=LONDON)) == []  # backing off
    assert teams_bot.fake.posted(thread) == []
    assert await teams_bot.tick(datetime(2026, 11, 24, 9, 5, tzinfo=LONDON)) == []  # no new nudge: the old delivered
    (delivered,) = teams_bot.fake.posted(thread)
    assert f"<at>{LENA[1]}</at>" in delivered.text
    assert await teams_bot.tick(datetime(2026, 11, 24, 9, 30, tzinfo=LONDON)) == []  # once delivered, done
    assert len(teams_bot.fake.posted(thread)) == 1


@pytest.mark.parametrize("status", STATUSES)
async def test_a_case_whose_thread_cannot_be_started_is_stored_whole_and_its_thread_started_later(
        teams_bot: TeamsHarness, caplog, status):
    intake = await teams_bot.intake_card()
    teams_bot.fake.fail["create"] = status
    calls = await teams_bot.submit(JORDAN, personal_chat(JORDAN), intake, {**submit_data(intake.card or {}), **ANSWERS})
    ((ref, case),) = await teams_bot.store.scan("cases")
    assert case["status"] == "open" and case["stage"] == 1 and case["stage_due"] == "2026-11-25"
    assert case["thread"] == {"channel": "teams", "conversation": CASES_CHANNEL, "thread": ""}
    assert case["root_posted"] is False  # kept for the next try, exactly as in Slack
    assert any(ref in w for w in warnings(caplog))
    (told,) = [c for c in calls if c.method == "reply"]
    assert ref in told.text and "could not be started yet" in told.text

    del teams_bot.fake.fail["create"]
    await teams_bot.tick(TUESDAY_9)  # the thread is started first, then its nudge goes into it
    stored = await teams_bot.store.get("cases", ref)
    thread = stored["thread"]["conversation"]
    assert stored["root_posted"] is True and thread.startswith(f"{CASES_CHANNEL};messageid=")
    (created,) = [c for c in teams_bot.fake.calls if c.method == "create" and c.status == 200]
    assert ref in created.text and f"<at>{LENA[1]}</at>" in created.text
    assert any(ref in c.text and "due tomorrow" in c.text for c in teams_bot.fake.posted(thread))


async def test_replies_teams_refuses_are_logged_and_the_case_is_still_opened(teams_bot: TeamsHarness, caplog):
    intake = await teams_bot.intake_card()
    teams_bot.fake.fail[personal_chat(JORDAN)] = 403
    status, _ = await teams_bot.post(card_submit(
        JORDAN, {**submit_data(intake.card or {}), **ANSWERS}, teams_bot.connector, personal_chat(JORDAN),
        intake.given))
    assert status == 200
    ((_ref, case),) = await teams_bot.store.scan("cases")
    assert case["status"] == "open" and case["thread"]["conversation"].startswith(f"{CASES_CHANNEL};messageid=")
    assert any("HTTP 403" in w for w in warnings(caplog))


async def test_a_nudge_update_teams_refuses_leaves_the_case_resolved(teams_bot: TeamsHarness, caplog):
    case, nudge = await nudged(teams_bot)
    thread = case["thread"]["conversation"]
    form = await action_card(teams_bot, LENA, "resolve", nudge, thread)
    teams_bot.fake.fail[thread] = 404
    status, _ = await teams_bot.post(card_submit(
        LENA, {**submit_data(form.card or {}), **RESOLVE}, teams_bot.connector, thread, form.given))
    assert status == 200
    stored = await teams_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved"
    assert any("HTTP 404" in w for w in warnings(caplog))


async def test_a_connector_that_hangs_never_holds_the_request_and_the_reply_comes_later(teams_bot: TeamsHarness,
                                                                                        monkeypatch):
    from adapters.teams import turn

    monkeypatch.setattr(turn, "REPLY_SECONDS", 0.3)
    chat = personal_chat(JORDAN)
    await teams_bot.say(JORDAN, "hello")  # (the conversation is known)
    before = len(teams_bot.fake.posted(chat))
    teams_bot.fake.hang[chat] = 3.0
    began = time.monotonic()
    status, _ = await teams_bot.post(personal_message(JORDAN, "help", teams_bot.connector))
    assert status == 200 and time.monotonic() - began < 2.0  # answered well before the connector would
    del teams_bot.fake.hang[chat]
    await teams_bot.core.work.settle()
    teams_bot.clock.advance(minutes=1)
    await teams_bot.core.threads.deliver_due()  # the outbox sends it (the hung try may have arrived too: Teams
    # offers no way to look a message up, so it is sent again rather than never)
    helped = [c for c in teams_bot.fake.posted(chat)[before:] if "I help you follow" in c.text]
    assert len(helped) == 2  # the hung try (which arrived after all) and the outbox's, once
    (letter,) = [doc for key, doc in await teams_bot.store.scan("outbox") if key.startswith("teams:")]
    assert letter["status"] == "sent"


@pytest.mark.parametrize("status", [429, 500])
async def test_a_reply_teams_refuses_is_kept_and_sent_later_honouring_retry_after(teams_bot: TeamsHarness, status):
    chat = personal_chat(JORDAN)
    await teams_bot.say(JORDAN, "hello")
    teams_bot.fake.fail[chat] = status
    teams_bot.fake.retry_after[chat] = "120"
    await teams_bot.say(JORDAN, "help")
    (letter,) = [doc for key, doc in await teams_bot.store.scan("outbox") if key.startswith("teams:")]
    assert letter["status"] == "pending"
    del teams_bot.fake.fail[chat]
    teams_bot.clock.advance(seconds=60)
    await teams_bot.core.threads.deliver_due()
    before = len(teams_bot.fake.posted(chat))
    if status == 429:  # Teams asked for two minutes: not before
        assert not [c for c in teams_bot.fake.posted(chat)[before:] if "I help you follow" in c.text]
    teams_bot.clock.advance(seconds=70)
    await teams_bot.core.threads.deliver_due()
    assert [c for c in teams_bot.fake.posted(chat) if "I help you follow" in c.text]

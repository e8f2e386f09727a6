"""Slack Web API errors: the case stays consistent in the store, the failure is logged, and nudges are retried."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import datetime, timedelta

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_server import ANSWERS, CASES_CHANNEL, JORDAN, LENA, slack_bot  # noqa: F401
from slack_support import TOKEN, slash_command, view_submission
from test_slack_case_thread import TUESDAY_9, action_modal, nudged

from adapters.slack.sender import SlackSender
from bot.dates.workdays import LONDON
from bot.jobs.outbox import SendError
from bot.types import Reply, ThreadRef

ERRORS = ("channel_not_found", "ratelimited", "token_revoked")


def warnings_about(caplog: pytest.LogCaptureFixture, code: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and code in r.getMessage()]


@pytest.mark.parametrize("code", ERRORS)
async def test_nudge_not_delivered_is_logged_and_retried_by_a_later_tick(slack_bot, caplog, code):
    case = await slack_bot.open_case()
    slack_bot.fake.fail["chat.postMessage"] = code
    assert [s.kind for s in await slack_bot.tick(TUESDAY_9)] == ["before"]  # queued
    assert len(slack_bot.posts(thread_ts=case["thread"]["thread"])) == 1  # tried once, refused
    assert warnings_about(caplog, code)
    letter = await slack_bot.store.get("outbox", f"nudge:{case['ref']}:1:before:2026-11-24")
    assert letter["status"] == "pending" and letter["attempts"] == 1  # not lost, not "sent"
    stored = await slack_bot.store.get("cases", case["ref"])
    assert stored["status"] == "open" and stored["stage"] == 1 and stored["thread"] == case["thread"]

    del slack_bot.fake.fail["chat.postMessage"]
    assert await slack_bot.tick(datetime(2026, 11, 24, 9, 0, 5, tzinfo=LONDON)) == []  # backing off
    assert len(slack_bot.posts(thread_ts=case["thread"]["thread"])) == 1
    assert await slack_bot.tick(datetime(2026, 11, 24, 9, 5, tzinfo=LONDON)) == []  # no new nudge: the old delivered
    delivered = slack_bot.posts(thread_ts=case["thread"]["thread"])
    assert len(delivered) == 2 and f"<@{LENA}>" in delivered[-1]["text"]
    assert await slack_bot.tick(datetime(2026, 11, 24, 9, 30, tzinfo=LONDON)) == []  # once delivered, done
    assert len(slack_bot.posts(thread_ts=case["thread"]["thread"])) == 2


@pytest.mark.parametrize("code", ERRORS)
async def test_case_opened_while_slack_refuses_posts_is_stored_whole_and_logged(slack_bot, caplog, code):
    intake = await slack_bot.intake_modal()
    slack_bot.fake.fail["chat.postMessage"] = code
    status, ack = await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, "VFAIL"))
    assert status == 200 and not ack
    await slack_bot.until(lambda: len(slack_bot.fake.called("chat.postMessage")) >= 2, "root and confirmation tries")
    await slack_bot.settle()
    ((ref, case),) = await slack_bot.store.scan("cases")
    assert case["status"] == "open" and case["stage"] == 1 and case["stage_due"] == "2026-11-25"
    assert [n["status"] for n in case["nudges"]] == ["pending"] * len(case["nudges"]) and case["nudges"]
    assert case["thread"] == {"channel": "slack", "conversation": CASES_CHANNEL, "thread": ""}
    assert warnings_about(caplog, code)
    assert any(ref in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert await slack_bot.store.keys("dialogs") == []  # no half-finished dialog left behind

    # Slack works again: before the first nudge, the case's root message starts its thread, and the nudge goes in it.
    del slack_bot.fake.fail["chat.postMessage"]
    sent = await slack_bot.tick(TUESDAY_9)
    assert [s.ref for s in sent] == [ref]
    root, nudge = slack_bot.posts(channel=CASES_CHANNEL)[-2:]
    assert "thread_ts" not in root and ref in root["text"]
    stored = await slack_bot.store.get("cases", ref)
    assert stored["thread"] == {"channel": "slack", "conversation": CASES_CHANNEL, "thread": slack_bot.fake.ts_of(root)}
    assert nudge["thread_ts"] == stored["thread"]["thread"] and f"<@{LENA}>" in nudge["text"]


async def test_a_case_thread_that_could_not_start_is_started_by_the_next_scheduler_pass(slack_bot, caplog):
    intake = await slack_bot.intake_modal()
    slack_bot.fake.fail_in[CASES_CHANNEL] = "not_in_channel"  # the bot was not invited to the cases channel yet
    status, _ = await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, "VNOROOT"))
    assert status == 200
    (told,) = await slack_bot.until(lambda: slack_bot.posts(channel=JORDAN), "the practitioner's confirmation")
    assert "could not be started yet" in told["text"] and "the bot is not in the cases channel" in told["text"]
    ((ref, case),) = await slack_bot.store.scan("cases")
    assert case["thread"]["thread"] == "" and warnings_about(caplog, "not_in_channel")

    slack_bot.clock.advance(minutes=1)
    await slack_bot.core.threads.deliver_due()  # still refused: kept for the next pass
    assert (await slack_bot.store.get("cases", ref))["thread"]["thread"] == ""
    del slack_bot.fake.fail_in[CASES_CHANNEL]
    slack_bot.clock.advance(minutes=1)
    await slack_bot.core.threads.deliver_due()
    (root,) = [p for p in slack_bot.posts(channel=CASES_CHANNEL) if slack_bot.fake.ts_of(p)]
    assert ref in root["text"] and f"<@{LENA}>" in root["text"]
    thread = (await slack_bot.store.get("cases", ref))["thread"]
    assert thread["thread"] == slack_bot.fake.ts_of(root)
    slack_bot.clock.advance(minutes=1)
    await slack_bot.core.threads.deliver_due()  # done: nothing posted again
    assert len(slack_bot.posts(channel=CASES_CHANNEL)) == 3  # two refusals, one root
    (sent,) = await slack_bot.tick(TUESDAY_9)
    assert sent.ref == ref and sent.thread.thread == thread["thread"]
    assert slack_bot.posts(channel=CASES_CHANNEL)[-1]["thread_ts"] == thread["thread"]


async def test_messages_racing_for_a_case_without_a_thread_start_it_once(slack_bot):
    intake = await slack_bot.intake_modal()
    slack_bot.fake.fail_in[CASES_CHANNEL] = "channel_not_found"
    await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, "VRACE"))
    await slack_bot.until(lambda: slack_bot.posts(channel=JORDAN), "the practitioner's confirmation")
    ((ref, _),) = await slack_bot.store.scan("cases")
    del slack_bot.fake.fail_in[CASES_CHANNEL]
    slack_bot.fake.delay["chat.postMessage"] = 0.2  # every post slow: the sends overlap
    slack_bot.clock.advance(minutes=1)
    await asyncio.gather(*(slack_bot.core.threads.send(f"update:{n}", Reply(f"Update {n}", case_ref=ref), case=ref,
                                                       wait=10) for n in range(3)),
                         slack_bot.core.threads.deliver_due())
    await slack_bot.core.work.settle()
    roots = [p for p in slack_bot.posts(channel=CASES_CHANNEL) if "thread_ts" not in p and slack_bot.fake.ts_of(p)]
    assert len(roots) == 1
    started = (await slack_bot.store.get("cases", ref))["thread"]["thread"]
    updates = [p for p in slack_bot.posts(channel=CASES_CHANNEL) if p["text"].startswith("Update")]
    assert len(updates) == 3 and {p["thread_ts"] for p in updates} == {started}


async def test_thread_post_failing_after_an_action_keeps_the_action_and_logs(slack_bot, caplog):
    case, nudge = await nudged(slack_bot)
    modal = await action_modal(slack_bot, LENA, "escalate", nudge)
    slack_bot.fake.fail_in[CASES_CHANNEL] = "channel_not_found"  # every post there refused, ephemerals too
    slack_bot.fake.fail["chat.update"] = "message_not_found"
    status, ack = await slack_bot.post_json(view_submission(LENA, modal, {"reason": "No reply."}, "VESCFAIL"))
    assert status == 200 and not ack
    (update,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.update"), "the update try")
    await slack_bot.settle()
    assert "see the reply in this thread" not in update["text"]  # there is no reply to see
    # Lena is told, by direct message since the channel refuses even an ephemeral answer.
    told = [p["text"] for p in slack_bot.posts(channel=LENA)]
    assert any("not in the case's thread yet" in t and "will be posted there as soon as it can be" in t
               for t in told)
    stored = await slack_bot.store.get("cases", case["ref"])
    assert stored["stage"] == 2 and stored["status"] == "open"
    assert any(n["stage"] == 2 and n["status"] == "pending" for n in stored["nudges"])
    assert warnings_about(caplog, "message_not_found")
    assert any("not yet posted to its thread" in m for m in warnings_about(caplog, case["ref"]))
    letters = [doc for key, doc in await slack_bot.store.scan("outbox") if key.startswith("case:")]
    assert [(d["status"], d["case"]) for d in letters] == [("pending", case["ref"])]  # kept, to be posted later


@pytest.mark.parametrize(("code", "words"), [("expired_trigger_id", "the form took too long to open"),
                                             ("ratelimited", "Slack is limiting how fast"),
                                             ("http_502", "Slack refused the message (http_502)")])
async def test_modal_that_cannot_be_opened_is_logged_and_the_user_told(slack_bot, caplog, code, words):
    if code.startswith("http_"):
        slack_bot.fake.broken["views.open"] = int(code[5:])
    else:
        slack_bot.fake.fail["views.open"] = code
    response = await slack_bot.post(slash_command(JORDAN))
    assert response.status == 200
    (told,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the apology")
    assert told["user"] == JORDAN and words in told["text"] and "try the same command" in told["text"]
    assert len(slack_bot.fake.called("views.open")) == 1  # a trigger id lasts 3 s: no retry
    assert warnings_about(caplog, code)
    assert await slack_bot.store.keys("cases") == []
    assert await slack_bot.store.keys("dialogs") == []


async def test_slack_that_cannot_be_reached_is_a_connection_error_in_plain_words(caplog):
    with socket.socket() as sock:  # a port with nothing listening on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/", session=session)
        sender = SlackSender(client)
        assert await sender.open_view("1.2.3", {"type": "modal"}) == "connection_error"
        with pytest.raises(SendError, match="Slack could not be reached"):
            await sender.post(ThreadRef("slack", CASES_CHANNEL), Reply("A nudge"))
        await sender.update(CASES_CHANNEL, "1.2", "A nudge", "Resolved by Lena")  # logged, not raised
    assert len(warnings_about(caplog, "connection_error")) == 3


async def test_after_a_restart_the_first_pass_starts_the_threads_left_unstarted(slack_bot):
    intake = await slack_bot.intake_modal()
    slack_bot.fake.fail_in[CASES_CHANNEL] = "not_in_channel"
    await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, "VRESTART"))
    await slack_bot.until(lambda: slack_bot.posts(channel=JORDAN), "the practitioner's confirmation")
    ((ref, _),) = await slack_bot.store.scan("cases")
    # A case stored by an earlier version, which did not queue its root message with it: the first pass finds it.
    await slack_bot.store.delete("outbox", f"root:{ref}")
    await slack_bot.store.delete("outbox_due", f"root:{ref}")
    await slack_bot.store.delete("meta", "roots-queued")
    del slack_bot.fake.fail_in[CASES_CHANNEL]
    await slack_bot.tick(datetime(2026, 11, 23, 10, 5, tzinfo=LONDON))
    assert (await slack_bot.store.get("cases", ref))["thread"]["thread"]  # started from what the store says


async def test_a_pass_stops_retrying_threads_at_the_first_failure(slack_bot):
    refs = []
    slack_bot.fake.fail_in[CASES_CHANNEL] = "channel_not_found"
    for n in range(3):
        intake = await slack_bot.intake_modal()
        await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, f"VSTOP{n}"))
        await slack_bot.until(lambda n=n: len(slack_bot.posts(channel=JORDAN)) > n, "a confirmation")
    refs = [ref for ref, _ in await slack_bot.store.scan("cases")]
    assert len(refs) == 3
    before = len(slack_bot.posts(channel=CASES_CHANNEL))
    slack_bot.clock.advance(minutes=5)
    await slack_bot.core.threads.deliver_due()
    assert len(slack_bot.posts(channel=CASES_CHANNEL)) == before + 1  # one try, not one timeout per case


async def test_views_open_goes_through_the_proxy_the_sdk_was_given(aiohttp_server, monkeypatch):
    """Behind an outbound proxy (HTTPS_PROXY, read by the SDK at start-up), the form must still open."""
    from fakes.slack_api import FakeSlack

    proxy = FakeSlack()  # answers like Slack, so it stands in for the proxy that would forward there
    server = await aiohttp_server(proxy.app())
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{server.port}")
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=TOKEN, base_url="http://slack.invalid/api/", session=session)
        assert client.proxy == f"http://127.0.0.1:{server.port}"
        sender = SlackSender(client)
        assert await sender.open_view("1.2.3", '{"type":"modal"}') is None
    (opened,) = proxy.called("views.open")
    assert opened["trigger_id"] == "1.2.3"


async def test_a_post_that_timed_out_but_arrived_is_found_and_not_posted_again(slack_bot):
    case = await slack_bot.open_case()
    thread = case["thread"]["thread"]
    slack_bot.core.outbox.post_seconds = 0.3
    slack_bot.fake.delay["chat.postMessage"] = 1.0  # Slack takes the post, but answers too late
    assert [s.kind for s in await slack_bot.tick(TUESDAY_9)] == ["before"]
    letter = await slack_bot.store.get("outbox", f"nudge:{case['ref']}:1:before:2026-11-24")
    assert letter["status"] == "pending" and letter["unknown"] is True  # it may have arrived
    assert len(slack_bot.posts(thread_ts=thread)) == 1
    del slack_bot.fake.delay["chat.postMessage"]
    await slack_bot.tick(datetime(2026, 11, 24, 9, 5, tzinfo=LONDON))
    assert len(slack_bot.posts(thread_ts=thread)) == 1  # found in the thread by its metadata: not posted again
    (looked,) = slack_bot.fake.called("conversations.replies")
    assert looked["ts"] == thread
    assert (await slack_bot.store.get("outbox", letter_key := f"nudge:{case['ref']}:1:before:2026-11-24"))[
        "status"] == "sent", letter_key


async def test_a_root_that_timed_out_but_arrived_starts_the_thread_once(slack_bot):
    intake = await slack_bot.intake_modal()
    slack_bot.core.outbox.post_seconds = 0.3
    slack_bot.fake.delay["chat.postMessage"] = 1.0
    await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, "VSLOWROOT"))
    await slack_bot.until(lambda: slack_bot.fake.called("chat.postMessage"), "the root's try")
    await slack_bot.core.work.settle()
    ((ref, case),) = await slack_bot.store.scan("cases")
    assert case["root_posted"] is False
    del slack_bot.fake.delay["chat.postMessage"]
    await slack_bot.tick(TUESDAY_9)
    roots = [p for p in slack_bot.posts(channel=CASES_CHANNEL) if "thread_ts" not in p]
    assert len(roots) == 1  # the one that arrived late, found by its metadata
    stored = await slack_bot.store.get("cases", ref)
    assert stored["root_posted"] is True and stored["thread"]["thread"] == slack_bot.fake.ts_of(roots[0])
    nudge = slack_bot.posts(channel=CASES_CHANNEL)[-1]
    assert nudge["thread_ts"] == stored["thread"]["thread"]


async def test_a_root_that_timed_out_is_found_even_when_the_channel_has_moved_on_a_page(slack_bot):
    intake = await slack_bot.intake_modal()
    slack_bot.core.outbox.post_seconds = 0.3
    slack_bot.fake.delay["chat.postMessage"] = 1.0
    await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, "VBUSYROOT"))
    await slack_bot.until(lambda: slack_bot.fake.called("chat.postMessage"), "the root's try")
    await slack_bot.core.work.settle()
    del slack_bot.fake.delay["chat.postMessage"]
    client = slack_bot.core.outbox._senders["slack"].client  # (others post in the channel meanwhile)
    for n in range(230):
        await client.chat_postMessage(channel=CASES_CHANNEL, text=f"other business {n}")
    await slack_bot.tick(TUESDAY_9)
    roots = [p for p in slack_bot.posts(channel=CASES_CHANNEL) if "thread_ts" not in p and "ESC-" in p["text"]]
    assert len(roots) == 1  # found on the second page of the channel's history: not posted again
    pages = [c for c in slack_bot.fake.called("conversations.history") if c["channel"] == CASES_CHANNEL]
    assert [c.get("cursor") for c in pages] == [None, "200"] and all(c["oldest"] for c in pages)

async def test_a_root_given_up_after_a_day_tells_the_raiser_and_is_posted_once_the_bot_is_invited(slack_bot):
    """The bot left out of the cases channel over a weekend: its root is given up after a day of tries (audited, the
    raiser told by direct message); once it is invited, the next message about the case starts the thread first."""
    intake = await slack_bot.intake_modal()
    slack_bot.fake.fail_in[CASES_CHANNEL] = "not_in_channel"
    await slack_bot.post_json(view_submission(JORDAN, intake, ANSWERS, "VWEEKEND"))
    await slack_bot.until(lambda: slack_bot.posts(channel=JORDAN), "the practitioner's confirmation")
    ((ref, _),) = await slack_bot.store.scan("cases")
    for hours in (1, 4, 12, 20, 25):  # passes over a day: each try refused
        slack_bot.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON) + timedelta(hours=hours))
        await slack_bot.core.threads.deliver_due()
        await slack_bot.core.work.settle()
    assert (await slack_bot.store.get("outbox", f"root:{ref}"))["status"] == "failed"
    audited = [doc for _, doc in await slack_bot.store.scan("audit_log") if doc["action"] == "delivery_failed"]
    assert [doc["ref"] for doc in audited] == [ref]
    told = [p["text"] for p in slack_bot.posts(channel=JORDAN) if "could not be posted" in p["text"]]
    assert len(told) == 1 and ref in told[0]

    del slack_bot.fake.fail_in[CASES_CHANNEL]  # invited at last
    (_sent,) = await slack_bot.tick(datetime(2026, 11, 25, 9, 0, tzinfo=LONDON))  # the stage's due-date nudge
    roots = [p for p in slack_bot.posts(channel=CASES_CHANNEL) if slack_bot.fake.ts_of(p) and not p.get("thread_ts")]
    assert len(roots) == 1 and ref in roots[0]["text"]
    assert slack_bot.posts(channel=CASES_CHANNEL)[-1]["thread_ts"] == slack_bot.fake.ts_of(roots[0])


async def test_an_answer_slack_would_not_take_is_kept_and_sent_later(slack_bot):
    case = await slack_bot.open_case()
    slack_bot.fake.fail["chat.postEphemeral"] = "ratelimited"
    slack_bot.fake.fail["chat.postMessage"] = "ratelimited"
    assert (await slack_bot.post(slash_command(LENA, f"harm {case['ref']}"))).status == 200
    await slack_bot.settle()
    stored = await slack_bot.store.get("cases", case["ref"])
    assert [e["action"] for e in stored["events"]].count("immediate_harm_route_given") == 1  # the effect happened
    (letter,) = [doc for key, doc in await slack_bot.store.scan("outbox") if key.startswith("slack:slack-cmd:")]
    assert letter["status"] == "pending"  # what the person is owed is kept
    del slack_bot.fake.fail["chat.postEphemeral"], slack_bot.fake.fail["chat.postMessage"]
    tried = len(slack_bot.posts(channel=LENA))  # (the direct message Slack refused)
    slack_bot.clock.advance(minutes=5)
    await slack_bot.core.threads.deliver_due()
    await slack_bot.core.threads.deliver_due()
    told = slack_bot.posts(channel=LENA)[tried:]
    assert len(told) == 1 and "Immediate risk of harm" in told[0]["text"]  # the route, in Lena's direct messages

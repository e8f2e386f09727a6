"""What reaches POST /slack/events: signatures (401), malformed or oversized bodies (4xx, never 5xx), replays and
Slack retries (one effect). A refused request reaches no listener: no call to Slack, nothing stored."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from urllib.parse import parse_qs, urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.response import BoltResponse
from slack_server import ANSWERS, CASES_CHANNEL, JORDAN, SlackBot, slack_bot  # noqa: F401
from slack_support import SECRET, button_click, fixture, signed_headers, slash_command, view_submission

from adapters.slack.listeners import HANDLED
from adapters.slack.route import slack_handler

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


async def refused(bot: SlackBot, body: str | bytes, headers: dict[str, str], status: int | tuple[int, ...]) -> None:
    """Send one request; it must get `status` and leave no trace."""
    before = bot.snapshot()
    data = body.encode() if isinstance(body, str) else body
    async with bot.session.post(bot.url + "/slack/events", data=data, headers=headers) as response:
        await response.read()
        assert response.status in ((status,) if isinstance(status, int) else status), response.status
        assert response.status < 500
    await bot.settle()
    assert bot.fake.calls == [], [c.method for c in bot.fake.calls]
    assert bot.snapshot() == before


def unsigned(content_type: str = FORM, **headers: str) -> dict[str, str]:
    return {"Content-Type": content_type, **headers}


async def test_forged_signature_is_401(slack_bot):
    body = slash_command(JORDAN)
    await refused(slack_bot, body, signed_headers(body, FORM, secret="not-the-secret"), 401)


async def test_missing_signature_is_401(slack_bot):
    await refused(slack_bot, slash_command(JORDAN), unsigned(), 401)
    body = slash_command(JORDAN)
    headers = signed_headers(body, FORM)
    del headers["X-Slack-Signature"]
    await refused(slack_bot, body, headers, 401)


async def test_stale_signature_is_401(slack_bot):
    body = slash_command(JORDAN)
    await refused(slack_bot, body, signed_headers(body, FORM, stamp=int(time.time()) - 600), 401)
    await refused(slack_bot, body, signed_headers(body, FORM, stamp=int(time.time()) + 600), 401)


@pytest.mark.parametrize("stamp", ["", "abc", "12.5", "-1", "１２３", "9" * 40, "9" * 400, "9" * 5000])
async def test_unsigned_with_an_empty_or_non_numeric_timestamp_is_4xx(slack_bot, stamp):
    headers = unsigned(**{"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=00"})
    await refused(slack_bot, slash_command(JORDAN), headers, 401)
    await refused(slack_bot, "{not json", unsigned(JSON, **{"X-Slack-Request-Timestamp": stamp}), 401)


async def test_malformed_json_is_4xx(slack_bot):
    for body in ("{not json", "[1, 2]", '"text"', "\xff"):
        await refused(slack_bot, body, unsigned(JSON), 401)
        await refused(slack_bot, body, signed_headers(body, JSON), 400)


async def test_a_body_that_is_not_utf8_is_4xx_even_with_a_bogus_signature(slack_bot):
    """No secret needed: a fresh timestamp, any signature and a non-UTF-8 body must not give a 500."""
    raw = b'{"type": "event_callback", "x": "\xff\xfe"}'
    stamp = str(int(time.time()))
    await refused(slack_bot, raw, unsigned(JSON, **{"X-Slack-Request-Timestamp": stamp,
                                                    "X-Slack-Signature": "v0=" + "0" * 64}), (400, 401))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    await refused(slack_bot, raw, {"Content-Type": JSON, "X-Slack-Request-Timestamp": stamp,
                                   "X-Slack-Signature": f"v0={digest}"}, (400, 401))


async def test_malformed_form_body_is_4xx(slack_bot):
    # (bolt reads a form body starting with "{" as JSON, and a payload that is not an object would fail later)
    for body in ("payload=%7Bnot+json", "payload=", "a&&b", "payload=%7B%22type%22%3A", "a=1&", "{a=b",
                 "payload=%5B1%2C2%5D", "x=1&payload=%22text%22"):
        await refused(slack_bot, body, unsigned(), 401)
        await refused(slack_bot, body, signed_headers(body, FORM), 400)


async def test_body_over_256_kib_is_413(slack_bot):
    big = urlencode({"payload": json.dumps({"type": "view_submission", "pad": "x" * (256 * 1024)})})
    await refused(slack_bot, big, unsigned(), 401)  # unsigned: refused on its headers, before the body is read
    await refused(slack_bot, big, signed_headers(big, FORM), 413)

    async def chunks():  # no Content-Length: the limit must hold on what is read
        for _ in range(40):
            yield b"x" * 8192

    await refused(slack_bot, chunks(), signed_headers("", FORM), 413)  # type: ignore[arg-type]


async def test_same_signed_slash_command_twice_opens_one_modal(slack_bot):
    body = slash_command(JORDAN)
    headers = signed_headers(body, FORM)
    for _ in range(2):
        response = await slack_bot.post(body, headers=headers)
        assert response.status == 200
    await slack_bot.until(lambda: slack_bot.fake.called("views.open"), "views.open")
    await slack_bot.settle()
    assert len(slack_bot.fake.called("views.open")) == 1


async def test_replayed_view_submission_opens_one_case_with_one_root_message(slack_bot):
    intake = await slack_bot.intake_modal()
    from slack_server import ANSWERS

    body = view_submission(JORDAN, intake, ANSWERS, "VREPLAY")
    headers = signed_headers(body, FORM)
    assert (await slack_bot.post(body, headers=headers)).status == 200
    assert (await slack_bot.post(body, headers=headers)).status == 200  # a byte-for-byte replay
    # a second delivery of the same submission with a fresh signature: the view id makes it the same event
    assert (await slack_bot.post(body, headers=signed_headers(body, FORM, stamp=int(time.time()) - 2))).status == 200
    await slack_bot.until(lambda: len(slack_bot.fake.called("chat.postMessage")) >= 2, "root and confirmation")
    await slack_bot.settle()
    assert len(await slack_bot.store.keys("cases")) == 1
    assert len(slack_bot.posts(channel=CASES_CHANNEL)) == 1
    assert len(slack_bot.posts(channel=JORDAN)) == 1


async def test_app_mention_retried_by_slack_is_handled_once(slack_bot):
    body = json.dumps(fixture("app_mention_event.json"))
    first = await slack_bot.post(body, JSON, headers=signed_headers(body, JSON))
    assert first.status == 200
    await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the answer")
    retry = signed_headers(body, JSON, stamp=int(time.time()) - 1)  # Slack re-signs each delivery
    retry.update({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    second = await slack_bot.post(body, JSON, headers=retry)
    assert second.status == 200
    await slack_bot.settle()
    answers = slack_bot.fake.called("chat.postEphemeral")
    assert len(answers) == 1
    assert answers[0]["channel"] == "C111" and answers[0]["user"] == "W222"


async def test_an_event_nobody_listens_to_is_acknowledged_so_slack_does_not_retry(slack_bot):
    body = json.dumps(fixture("message_event_in_thread.json"))
    response = await slack_bot.post(body, JSON, headers=signed_headers(body, JSON))
    assert response.status == 200
    await slack_bot.settle()
    assert [c.method for c in slack_bot.fake.calls if c.method != "auth.test"] == []


async def test_another_slash_command_gets_a_private_way_forward_not_an_error(slack_bot):
    body = slash_command(JORDAN).replace("%2Fescalate", "%2Fother")
    before = slack_bot.snapshot()
    status, answer = await slack_bot.post_json(body, headers=signed_headers(body, FORM))
    assert status == 200  # bolt alone answers 404, which Slack shows as "dispatch_failed"
    assert answer["response_type"] == "ephemeral" and "/escalate help" in answer["text"]
    await slack_bot.settle()
    assert slack_bot.snapshot() == before


async def test_a_command_from_a_channel_named_payload_still_works(slack_bot):
    """bolt alone reads any form body containing "payload" as an empty interaction, so no listener would run."""
    body = re.sub(r"channel_name=[^&]*", "channel_name=payroll-payload-team", slash_command(JORDAN))
    assert "payload" in body and "payload=" not in body
    response = await slack_bot.post(body, headers=signed_headers(body, FORM))
    assert response.status == 200
    (opened,) = await slack_bot.until(lambda: slack_bot.fake.called("views.open"), "the modal")
    assert opened["view"]["callback_id"] == "escalate_start"
    body = slash_command(JORDAN, text="help payload")
    assert (await slack_bot.post(body, headers=signed_headers(body, FORM))).status == 200
    (told,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the help")
    assert "/escalate status REF" in told["text"]


async def test_a_button_nobody_handles_is_acknowledged_and_changes_nothing(slack_bot):
    before = slack_bot.snapshot()
    body = button_click(JORDAN, "retired_button", "{}", CASES_CHANNEL, "1700000000.000001", "An old message")
    response = await slack_bot.post(body)
    assert response.status == 200
    await slack_bot.settle()
    assert [c.method for c in slack_bot.fake.calls if c.method != "auth.test"] == []
    assert slack_bot.snapshot() == before


async def test_a_form_from_an_older_version_is_replaced_by_a_way_forward(slack_bot):
    view = {"callback_id": "retired_form", "private_metadata": "{}", "blocks": []}
    before = slack_bot.snapshot()
    status, answer = await slack_bot.post_json(view_submission(JORDAN, view, {}, "VOLD"))
    assert status == 200 and answer["response_action"] == "update"
    shown = json.dumps(answer["view"])
    assert "start again with /escalate" in shown and "Nothing in it was saved" in shown
    assert "submit" not in answer["view"]
    assert slack_bot.snapshot() == before


async def test_url_verification_answers_the_challenge(slack_bot):
    data = fixture("url_verification.json")
    body = json.dumps(data)
    status, answer = await slack_bot.post_json(body, headers=signed_headers(body, JSON))
    assert status == 200
    assert data["challenge"] in json.dumps(answer)


@pytest.mark.parametrize("signature", ["v0=é", "v0=" + "é" * 64, "v1=" + "0" * 64, "v0=" + "0" * 63, "v0=" + "G" * 64])
async def test_a_malformed_signature_with_a_fresh_timestamp_is_401(slack_bot, signature):
    stamp = str(int(time.time()))
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    await refused(slack_bot, slash_command(JORDAN), headers, 401)


async def test_a_body_that_arrives_in_pieces_is_read_whole(slack_bot):
    """A proxy may pass a request on in several pieces; the body is read to its end, not to the first piece."""
    body = view_submission(JORDAN, await slack_bot.intake_modal(), {"disputed": "x" * 3000}, "VPIECES")
    headers = signed_headers(body, FORM)

    async def pieces():
        data = body.encode()
        yield data[: len(data) // 2]
        await asyncio.sleep(0.2)
        yield data[len(data) // 2:]

    async with slack_bot.session.post(slack_bot.url + "/slack/events", data=pieces(), headers=headers) as response:
        answer = await response.json()
    assert response.status == 200 and answer["response_action"] == "errors"  # read whole: validated, not 401


async def test_an_event_bolt_failed_on_is_handled_when_slack_retries_it(aiohttp_server):
    """A 5xx means nothing took effect, so Slack's retry of the same event id must reach bolt again."""

    class FailsOnce:
        calls = 0

        async def async_dispatch(self, request):
            FailsOnce.calls += 1
            return BoltResponse(status=500 if FailsOnce.calls == 1 else 200, body="")

    app = web.Application()
    app.router.add_post("/slack/events", slack_handler(FailsOnce(), SECRET, HANDLED))  # type: ignore[arg-type]
    server = await aiohttp_server(app)
    body = json.dumps({**fixture("app_mention_event.json"), "event_id": "Ev0RETRY1"})
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{server.port}/slack/events"
        async with session.post(url, data=body, headers=signed_headers(body, JSON)) as first:
            assert first.status == 503
        retry = {**signed_headers(body, JSON, stamp=int(time.time()) + 1), "X-Slack-Retry-Num": "1"}
        async with session.post(url, data=body, headers=retry) as second:
            assert second.status == 200
        async with session.post(url, data=body, headers={**retry, "X-Slack-Retry-Num": "2"}) as third:
            assert third.status == 200  # acknowledged: handled once already
    assert FailsOnce.calls == 2


async def test_a_body_that_stalls_is_refused_in_time_and_an_unsigned_one_before_it_is_read(slack_bot, monkeypatch):
    from adapters import http

    monkeypatch.setattr(http, "READ_SECONDS", 0.3)

    async def stalls():
        yield b"command=%2Fescalate"
        await asyncio.sleep(5)
        yield b"&text="

    body = "command=%2Fescalate&text="
    async with slack_bot.session.post(slack_bot.url + "/slack/events", data=stalls(), headers=unsigned()) as r:
        assert r.status == 401  # no signature: answered at once, nothing read
    async with slack_bot.session.post(slack_bot.url + "/slack/events", data=stalls(),
                                      headers=signed_headers(body, FORM)) as r:
        assert r.status == 408  # signed but stalling: refused when the read's time is up


async def test_a_body_that_cannot_be_decoded_is_400_not_500(slack_bot):
    for encoding, data in (("gzip", b"\x1f\x8b\x08\x00" + b"garbage" * 10), ("deflate", b"not deflate at all")):
        headers = {**signed_headers("x=1", FORM), "Content-Encoding": encoding}
        await refused(slack_bot, data, headers, 400)


async def test_a_signed_body_nested_too_deep_is_400(slack_bot):
    body = "[" * 50_000 + "]" * 50_000
    await refused(slack_bot, body, signed_headers(body, JSON), 400)


async def test_our_own_form_acknowledged_late_is_not_called_stale(aiohttp_server):
    """bolt answers 404 when a listener acks after 3 s, though the listener goes on (and may open the case): that
    must not tell the practitioner "nothing was saved, start again"."""

    class AcksLate:
        async def async_dispatch(self, request):
            return BoltResponse(status=404, body="")

    app = web.Application()
    app.router.add_post("/slack/events", slack_handler(AcksLate(), SECRET, HANDLED))  # type: ignore[arg-type]
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}/slack/events"
    ours = view_submission(JORDAN, {"callback_id": "escalate_submit", "private_metadata": "{}", "blocks": []}, {}, "V1")
    stale = view_submission(JORDAN, {"callback_id": "retired_form", "private_metadata": "{}", "blocks": []}, {}, "V2")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=ours, headers=signed_headers(ours, FORM)) as r:
            assert r.status == 200 and await r.text() == ""
        async with session.post(url, data=stale, headers=signed_headers(stale, FORM)) as r:
            assert (await r.json())["response_action"] == "update"
        for body, expected in ((slash_command(JORDAN), ""), (slash_command(JORDAN).replace("%2Fescalate", "%2Fother"),
                                                             "only answers /escalate")):
            async with session.post(url, data=body, headers=signed_headers(body, FORM)) as r:
                assert r.status == 200 and expected in await r.text()


async def test_signed_payloads_of_the_wrong_shape_are_400_before_bolt_sees_them(slack_bot, caplog):
    """The shapes the fuzzer found bolt failing on (each was a 500 or 503), and wrong-typed fields our listeners
    read: refused with 400, nothing stored, nothing logged as an error."""
    mention = {"type": "event_callback", "event_id": "Ev1", "authorizations": [1.0],
               "event": {"type": "app_mention", "user": ["U1"], "channel": "C1", "text": "help"}}
    click = json.loads(parse_qs(button_click(JORDAN, "case_resolve", "{}", CASES_CHANNEL, "1.2", "x"))["payload"][0])
    no_action_id = {**click, "actions": [{"block_id": "case_actions", "type": "button", "value": "{}"}]}
    no_actions = {**click, "actions": []}
    user_a_number = {**click, "user": {"id": 7}}
    intake = await slack_bot.intake_modal()
    submitted = json.loads(parse_qs(view_submission(JORDAN, intake, {}, "VSHAPE"))["payload"][0])
    values_a_list = {**submitted, "view": {**submitted["view"], "state": {"values": {"child_name": ["Ann"]}}}}
    option_a_string = {**submitted, "view": {**submitted["view"], "state": {"values": {
        "category": {"answer": {"type": "static_select", "selected_option": "x"}}}}}}
    caplog.clear()
    slack_bot.fake.calls.clear()
    for body, content_type in ((json.dumps(mention), JSON),
                               *((urlencode({"payload": json.dumps(p)}), FORM)
                                 for p in (no_action_id, no_actions, user_a_number, values_a_list, option_a_string))):
        await refused(slack_bot, body, signed_headers(body, content_type), 400)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_fields_nobody_reads_are_dropped_not_refused(slack_bot):
    """A slash command carrying fields bolt would trip on (a form's values are text) still works: only the fields
    the listener reads reach it."""
    body = slash_command(JORDAN, "help") + "&authorizations=x&response_urls=y&event=z"
    response = await slack_bot.post(body, headers=signed_headers(body, FORM))
    assert response.status == 200
    (told,) = await slack_bot.until(lambda: slack_bot.fake.called("chat.postEphemeral"), "the help")
    assert "/escalate status REF" in told["text"]


async def test_too_much_in_flight_is_said_politely_or_refused_to_be_retried(slack_bot):
    """Requests arriving faster than the bot can finish them are not queued without bound: a command is told to try
    again in a minute, a form gets 503 (Slack keeps it open, to send again), and neither takes effect."""
    intake = await slack_bot.intake_modal()
    slack_bot.fake.calls.clear()
    before = slack_bot.snapshot()
    slack_bot.core.work.limit = 0
    status, answer = await slack_bot.post_json(slash_command(JORDAN))
    assert status == 200 and "very busy" in answer["text"] and answer["response_type"] == "ephemeral"
    body = view_submission(JORDAN, intake, ANSWERS, "VBUSY")
    status, _ = await slack_bot.post_json(body)
    assert status == 503
    await slack_bot.settle()
    assert slack_bot.snapshot() == before and [c.method for c in slack_bot.fake.calls] == []
    slack_bot.core.work.limit = 500
    status, ack = await slack_bot.post_json(body, headers=signed_headers(body, FORM))  # the same form, sent again
    assert status == 200 and not ack
    await slack_bot.until(lambda: slack_bot.fake.called("chat.postMessage"), "the case's root")
    assert len(await slack_bot.store.scan("cases")) == 1

"""The fuzz gate for `POST /slack/events`: real Slack payloads, mutated and validly signed (the ones that used to reach
bolt and fail inside it), as JSON events, interactivity forms and slash commands. Whatever arrives, the answer is a
4xx or Slack's 200, never a 5xx, and nothing is logged as an unhandled error. Fixed seed: CI sees the same 2,000
inputs every run."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestServer
from fuzzing import GATE, Loop, failures_logged, json_values, mutated
from hypothesis import given
from hypothesis import strategies as st
from slack_server import ANSWERS, JORDAN, LENA, SlackBot, start_bot
from slack_support import fixture, signed_headers, view_submission

from adapters.slack import views


def _decoded(body: str) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    return json.loads(dict(parse_qsl(body))["payload"])


def bases(bot: SlackBot, loop: Loop) -> dict[str, Any]:
    """One real payload of each kind the bot answers, made by driving it (its forms as it renders them)."""
    start = loop.run(bot.start_modal())
    intake = loop.run(bot.intake_modal())
    case = loop.run(bot.open_case())
    value = json.dumps({"ref": case["ref"], "stage": 1})
    action_view = {"callback_id": views.CALLBACKS["action"], "blocks": [],
                   "private_metadata": json.dumps({"step": "action", "action": "resolve", "ref": case["ref"],
                                                   "stage": 1, "channel": bot.cases_channel})}
    click = fixture("block_actions_in_thread.DERIVED.json")
    click.update(user={"id": LENA}, trigger_id="trigger-fuzz",
                 actions=[{"action_id": "case_resolve", "block_id": "case_actions", "type": "button", "value": value,
                           "action_ts": "1700000000.000001"}])
    mention = fixture("app_mention_event.json")
    mention["event"].update(user=JORDAN, text=f"<@W111> status {case['ref']}")
    command = {"command": "/escalate", "text": f"status {case['ref']}", "user_id": JORDAN, "user_name": "jordan",
               "channel_id": bot.cases_channel, "team_id": "T111", "trigger_id": "trigger-fuzz",
               "response_url": "https://hooks.slack.com/commands/T111/1/x"}
    return {
        "command": command,
        "start": _decoded(view_submission(JORDAN, start, {"immediate_risk": "no"}, "VF1")),
        "intake": _decoded(view_submission(JORDAN, intake, ANSWERS, "VF2")),
        "action": _decoded(view_submission(LENA, action_view, {}, "VF3")),
        "click": click,
        "block_actions": fixture("block_actions.json"),
        "mention": mention,
        "message": fixture("message_event_in_thread.json"),
        "url_verification": fixture("url_verification.json"),
    }


def encode(kind: str, payload: Any) -> tuple[str, str]:
    """A mutated payload as Slack would carry it: a form (a slash command's fields; an interactivity payload) or a
    JSON body (the Events API)."""
    if kind == "command":
        fields = payload if isinstance(payload, dict) else {"payload": payload}
        return urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()},
                         errors="surrogatepass"), "application/x-www-form-urlencoded"
    if kind in ("mention", "message", "url_verification"):
        return json.dumps(payload), "application/json"
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


@pytest.fixture
def fuzzed_bot():
    loop = Loop()

    async def server(app: Any, **_: Any) -> TestServer:
        started = TestServer(app, host="127.0.0.1")
        await started.start_server(loop=loop.loop)
        loop.servers.append(started)
        return started

    bot = loop.run(start_bot(server))
    yield bot, loop
    loop.close(bot.session.close)


def test_no_malformed_slack_request_gets_a_5xx_or_an_unhandled_exception(fuzzed_bot):
    bot, loop = fuzzed_bot
    base = bases(bot, loop)
    statuses: dict[int, int] = {}

    @GATE
    @given(kind=st.sampled_from(sorted(base)), data=st.data())
    def one(kind: str, data: st.DataObject) -> None:
        payload = data.draw(mutated(base[kind]) | json_values if kind != "command" else mutated(base[kind]))
        body, content_type = encode(kind, payload)
        status = loop.run(bot.post(body, content_type, signed_headers(body, content_type, int(time.time())))).status
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (kind, body[:500])

    with failures_logged() as failures:
        one()
        loop.run(bot.core.work.settle())
    assert failures.records == [], failures.summary()
    assert sum(statuses.values()) >= 2000 and statuses.get(200), statuses  # (and most got through to be answered)

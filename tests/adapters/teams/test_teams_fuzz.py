"""The fuzz gate for `POST /api/messages`: real Teams activities (messages, @mentions, card submissions of our own
forms, invokes, installs), mutated, sent as the Emulator does (so that every one reaches botbuilder and our turn
code), and then a message with a signed token whose claims are mutated. Whatever arrives, the answer is a 4xx or a
2xx, never a 5xx, and nothing is logged as an unhandled error. Fixed seed: CI sees the same inputs every run."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from fuzzing import GATE, Loop, failures_logged, json_values, mutated
from hypothesis import given, settings
from hypothesis import strategies as st
from teams_server import ANSWERS, TeamsHarness, start_bot, submit_data
from teams_support import (
    APP_ID,
    JORDAN,
    LENA,
    SigningKeys,
    card_submit,
    channel_message,
    execute_invoke,
    install,
    patch_openid,
    personal_chat,
    personal_message,
    team_update,
)


def bases(bot: TeamsHarness, loop: Loop) -> dict[str, Any]:
    """One real activity of each kind the bot answers, made by driving it (its own cards' submit data)."""
    url = bot.connector
    start = loop.run(bot.start_card())
    intake = loop.run(bot.intake_card())
    case = loop.run(bot.open_case())
    assert start.card is not None and intake.card is not None
    action = {"step": "action", "action": "resolve", "ref": case["ref"], "stage": 1, "outcome": "Agreed a plan."}
    return {
        "message": personal_message(JORDAN, "escalate", url),
        "status": personal_message(JORDAN, f"status {case['ref']}", url),
        "mention": channel_message(LENA, f"status {case['ref']}", url),
        "start": card_submit(JORDAN, {**submit_data(start.card), "immediate_risk": "no"}, url,
                             personal_chat(JORDAN), start.given),
        "intake": card_submit(JORDAN, {**submit_data(intake.card), **ANSWERS}, url, personal_chat(JORDAN),
                              intake.given),
        "action": card_submit(LENA, action, url, personal_chat(LENA), "1766000000001"),
        "invoke": execute_invoke(url),
        "install": install(JORDAN, url),
        "team": team_update(url),
    }


def _serve(loop: Loop) -> Any:
    async def server(app: Any, **_: Any) -> TestServer:
        started = TestServer(app, host="127.0.0.1")
        await started.start_server(loop=loop.loop)
        loop.servers.append(started)
        return started

    return server


@pytest.fixture
def emulated(monkeypatch):
    loop = Loop()
    bot = loop.run(start_bot(_serve(loop), monkeypatch))
    yield bot, loop
    loop.close(bot.session.close)


@pytest.fixture
def signed(monkeypatch):
    loop = Loop()
    keys = SigningKeys()
    patch_openid(monkeypatch, keys)
    bot = loop.run(start_bot(_serve(loop), monkeypatch, app_id=APP_ID))
    yield bot, loop, keys
    loop.close(bot.session.close)


def test_no_malformed_teams_activity_gets_a_5xx_or_an_unhandled_exception(emulated):
    bot, loop = emulated
    base = bases(bot, loop)
    statuses: dict[int, int] = {}

    @GATE
    @given(kind=st.sampled_from(sorted(base)), data=st.data())
    def one(kind: str, data: st.DataObject) -> None:
        activity = data.draw(mutated(base[kind]) | json_values)
        status, _ = loop.run(bot.post(raw=json.dumps(activity).encode()))
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (kind, json.dumps(activity)[:500])

    with failures_logged() as failures:
        one()
        loop.run(bot.core.work.settle())
    assert failures.records == [], failures.summary()
    assert sum(statuses.values()) >= 2000 and statuses.get(200), statuses


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_anyhow(keys: SigningKeys, claims: dict[str, Any]) -> str:
    """A token signed with the trusted key whatever its claims hold (PyJWT refuses to sign some of them)."""
    head = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": keys.kid}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = keys.private.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(signature)}"


CLAIMS = st.dictionaries(st.sampled_from(("exp", "nbf", "iat", "iss", "aud", "serviceurl", "appid", "ver", "x")),
                         json_values, max_size=3)


def test_no_token_of_a_wrong_shape_gets_a_5xx_or_runs_a_turn(signed):
    """Tokens signed by the trusted key with mutated claims: each is refused with 401 (or 400, a header too long to
    read), or (when the mutation left it valid) the turn runs; never a 5xx."""
    bot, loop, keys = signed
    activity = team_update(bot.connector)  # (a turn that needs no reply: the bot's own token would need Microsoft)
    statuses: dict[int, int] = {}

    @settings(GATE, max_examples=300)  # (each a token check on its pool, then a turn: the slow part)
    @given(changes=CLAIMS)
    def one(changes: dict[str, Any]) -> None:
        token = signed_anyhow(keys, keys.claims(bot.connector, **changes))
        status, _ = loop.run(bot.post(activity, headers={"Authorization": f"Bearer {token}"}))
        statuses[status] = statuses.get(status, 0) + 1
        assert status in (200, 400, 401), (status, str(changes)[:300])  # (400: a header too long to read)

    with failures_logged() as failures:
        one()
        loop.run(bot.core.work.settle())
    assert failures.records == [], failures.summary()
    assert statuses.get(401) and statuses.get(200) and sum(statuses.values()) >= 300, statuses

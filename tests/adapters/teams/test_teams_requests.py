"""POST /api/messages refuses every unauthenticated or malformed request with a 4xx, runs no handler, logs no secret.

The JWT matrix runs offline: a locally generated RSA key is published as Bot Framework's signing keys (botbuilder's
OpenID metadata cache is filled from it), so botbuilder's own validation is what accepts or refuses each token.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from teams_server import TeamsHarness, teams_bot, teams_jwt  # noqa: F401
from teams_support import APP_ID, JORDAN, TALK_CHANNEL, personal_message, team_update


async def nothing_ran(bot: TeamsHarness) -> None:
    assert bot.fake.calls == []
    assert await bot.store.scan("teams_refs") == []
    assert await bot.store.scan("events") == []


def malformed(bot: TeamsHarness) -> list[tuple[str, bytes, dict[str, str]]]:
    good = personal_message(JORDAN, "escalate", bot.connector)
    without = {k: v for k, v in good.items() if k not in ("serviceUrl",)}
    return [
        ("invalid JSON", b'{"type": "message", ', {}),
        ("not UTF-8", b'{"type": "message", "text": "\xff"}', {}),
        ("a JSON array", b"[]", {}),
        ("no type", json.dumps({**good, "type": ""}).encode(), {}),
        ("no serviceUrl", json.dumps(without).encode(), {}),
        ("a serviceUrl that is not http", json.dumps({**good, "serviceUrl": "file:///etc/passwd"}).encode(), {}),
        ("no conversation", json.dumps({**good, "conversation": None}).encode(), {}),
        ("a sender that is not an object", json.dumps({**good, "from": "someone"}).encode(), {}),
        ("entities of the wrong type", json.dumps({**good, "entities": "x"}).encode(), {}),
        ("no Content-Type", json.dumps(good).encode(), {"Content-Type": ""}),
        ("form-encoded", json.dumps(good).encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
    ]


async def post_each(bot: TeamsHarness, cases: list[tuple[str, bytes, dict[str, str]]]) -> dict[str, int]:
    return {what: (await bot.post(raw=raw, headers=headers))[0] for what, raw, headers in cases}


async def test_malformed_requests_get_400_without_an_app_id(teams_bot: TeamsHarness):
    statuses = await post_each(teams_bot, malformed(teams_bot))
    assert statuses == {what: 400 for what in statuses}
    await nothing_ran(teams_bot)


async def test_with_an_app_id_requests_without_a_token_get_401_before_their_body_is_read(teams_jwt: TeamsHarness):
    statuses = await post_each(teams_jwt, malformed(teams_jwt))
    assert statuses == {what: 401 for what in statuses}  # malformed or not: no bearer token, nothing read
    await nothing_ran(teams_jwt)


async def test_an_oversized_request_gets_413(teams_bot: TeamsHarness):
    activity = personal_message(JORDAN, "x" * (300 * 1024), teams_bot.connector)
    status, _ = await teams_bot.post(activity)
    assert status == 413
    await nothing_ran(teams_bot)


def tokens(bot: TeamsHarness) -> dict[str, dict[str, str]]:
    keys, url = bot.keys, bot.connector  # type: ignore[attr-defined]
    bearer = {
        "a garbage bearer": "not-a-jwt",
        "alg none": keys.unsigned(url),
        "HS256": keys.hs256(url),
        "an expired token": keys.token(url, exp=1_600_000_000, nbf=1_599_990_000, iat=1_599_990_000),
        "a token signed by another key": keys.token(url, key=keys.other),
        "an unknown key id": keys.token(url, kid="someone-elses-key"),
        "the wrong audience": keys.token(url, aud="00000000-0000-0000-0000-000000000000"),
        "the wrong issuer": keys.token(url, iss="https://login.example.com"),
        "another serviceUrl": keys.token("https://attacker.example.com/"),
        "no serviceUrl claim": keys.token(url, serviceurl=None),
        "no exp": keys.token(url, exp=None),
        "no nbf": keys.token(url, nbf=None),
        "an iat that is text": keys.token(url, iat="now"),
        "an exp that is text": keys.token(url, exp="tomorrow"),
        "an exp of true": keys.token(url, exp=True),
        "a lifetime of a year": keys.token(url, exp=int(time.time()) + 365 * 86400),
        "an exp before its nbf": keys.token(url, nbf=int(time.time()) + 60, exp=int(time.time()) + 30),
        "not valid for an hour yet": keys.token(url, nbf=int(time.time()) + 3600, iat=int(time.time()) + 3600,
                                                exp=int(time.time()) + 7200),
        "issued in the future": keys.token(url, iat=int(time.time()) + 3600),
    }
    out = {what: {"Authorization": f"Bearer {token}"} for what, token in bearer.items()}
    out["no Authorization header"] = {}
    out["a Basic header"] = {"Authorization": "Basic dXNlcjpwYXNz"}
    out["Bearer and nothing"] = {"Authorization": "Bearer "}
    return out


async def test_jwt_mode_refuses_every_unauthenticated_request_with_401(teams_jwt: TeamsHarness, caplog):
    caplog.set_level(logging.DEBUG, logger="adapters")
    statuses = {}
    for what, headers in tokens(teams_jwt).items():
        statuses[what] = (await teams_jwt.post(team_update(teams_jwt.connector), headers=headers))[0]
    assert statuses == {what: 401 for what in statuses}
    await nothing_ran(teams_jwt)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for headers in tokens(teams_jwt).values():
        token = headers.get("Authorization", "").removeprefix("Bearer ").removeprefix("Basic ")
        assert len(token) < 8 or token not in logged
    assert TALK_CHANNEL not in logged  # nothing of the body either


@pytest.mark.parametrize("iat", [None, -60], ids=["as the connector sends it (no iat)", "with an iat"])
async def test_jwt_mode_accepts_a_valid_token_and_runs_the_turn(teams_jwt: TeamsHarness, iat):
    changes = {} if iat is None else {"iat": int(time.time()) + iat}
    token = teams_jwt.keys.token(teams_jwt.connector, **changes)  # type: ignore[attr-defined]
    status, _ = await teams_jwt.post(team_update(teams_jwt.connector), headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    stored = await teams_jwt.store.get("teams_refs", TALK_CHANNEL)
    assert stored is not None and stored["serviceUrl"] == teams_jwt.connector


async def test_an_unauthenticated_message_in_jwt_mode_is_refused_before_any_reply(teams_jwt: TeamsHarness):
    status, _ = await teams_jwt.post(personal_message(JORDAN, "escalate", teams_jwt.connector))
    assert status == 401
    await nothing_ran(teams_jwt)


async def test_a_token_without_an_app_id_configured_is_still_checked(teams_bot: TeamsHarness):
    """In the Emulator's mode a request with no header is let in, but a header that is present must be valid."""
    status, _ = await teams_bot.post(team_update(teams_bot.connector), headers={"Authorization": "Bearer junk"})
    assert status == 401
    await nothing_ran(teams_bot)


@pytest.mark.parametrize("level", [logging.INFO])
async def test_bodies_are_not_logged_above_debug(teams_bot: TeamsHarness, caplog, level):
    caplog.set_level(level)
    await teams_bot.open_case()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= level)
    assert "Closed referral" not in logged and "Chris Walker" not in logged
    assert "Tallulah" not in logged and APP_ID not in logged


async def test_too_much_in_flight_is_503_with_retry_after_and_nothing_runs(teams_bot):
    """Requests arriving faster than the bot can finish them are refused before they take effect (the Bot Connector
    tries again), instead of queueing without bound."""
    teams_bot.core.work.limit = 0
    async with teams_bot.session.post(teams_bot.url + "/api/messages",
                                      json=personal_message(JORDAN, "escalate", teams_bot.connector)) as response:
        assert response.status == 503 and response.headers["Retry-After"] == "30"
    await nothing_ran(teams_bot)
    teams_bot.core.work.limit = 500
    calls = await teams_bot.say(JORDAN, "escalate")
    assert [c.method for c in calls] == ["reply"]  # and once there is room, it is handled


@pytest.mark.parametrize("url", ["http://\U00073076x/", "https://exämple.org/", "https://host/pa th", "https://h/\u00e9",
                                 "ftp://host/", "https://", "https://host:123456/"])
async def test_a_service_url_no_reply_could_be_sent_to_is_400(teams_bot, url):
    """Found by the fuzz gate: a serviceUrl whose host is not ASCII made the reply fail inside the HTTP client."""
    status, _ = await teams_bot.post({**personal_message(JORDAN, "help", teams_bot.connector), "serviceUrl": url})
    assert status == 400
    await nothing_ran(teams_bot)


@pytest.mark.parametrize("conversation", ["ì\U00073076q'w", "a b", "x" * 1025])
async def test_a_conversation_id_teams_never_sends_is_400(teams_bot, conversation):
    """Found by the fuzz gate: a conversation id goes back to the connector in a header, which takes ASCII only."""
    activity = personal_message(JORDAN, "help", teams_bot.connector)
    status, _ = await teams_bot.post({**activity, "conversation": {**activity["conversation"], "id": conversation}})
    assert status == 400
    await nothing_ran(teams_bot)

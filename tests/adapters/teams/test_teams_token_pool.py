"""Token checks that cannot finish (Microsoft's signing keys unreachable) are answered 503 at their deadline, run only
on the checks' own few threads, and never hold up store reads or anything else on the default executor; botbuilder's
key fetch itself has a timeout."""

from __future__ import annotations

import asyncio
import threading

import pytest
import requests
from aiohttp import web
from botframework.connector.auth import jwt_token_extractor
from botframework.connector.auth.jwt_token_extractor import _OpenIdMetadata
from teams_server import start_bot
from teams_support import APP_ID, LocalMetadata, SigningKeys, patch_openid, team_update

from adapters.teams import auth


async def test_hanging_key_fetches_get_503_and_hold_only_the_token_checks_own_threads(aiohttp_server, monkeypatch):
    keys = SigningKeys()
    patch_openid(monkeypatch, keys)
    release, hung = threading.Event(), []

    async def hang(self: LocalMetadata) -> None:  # a blocking fetch that does not come back (until released)
        hung.append(threading.current_thread().name)
        release.wait(30)

    monkeypatch.setattr(LocalMetadata, "_refresh", hang)
    monkeypatch.setattr(auth, "AUTH_SECONDS", 0.5)
    bot = await start_bot(aiohttp_server, monkeypatch, app_id=APP_ID)
    try:
        headers = {"Authorization": f"Bearer {keys.token(bot.connector)}"}
        answers = await asyncio.gather(*(bot.post(team_update(bot.connector), headers=headers) for _ in range(12)))
        assert [status for status, _ in answers] == [503] * 12
        # The default executor is free: a thread job and a store read are answered while the checks still hang.
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 5) == "free"
        assert await asyncio.wait_for(bot.store.scan("teams_refs"), 5) == []
        assert hung and len(hung) <= auth.WORKERS
        assert all(name.startswith("teams-token") for name in hung)
    finally:
        release.set()
        await bot.session.close()
    assert bot.fake.calls == []


async def test_the_signing_key_fetch_gives_up_when_the_endpoint_does_not_answer(aiohttp_server, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    done = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        await done.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/metadata", never)
    server = await aiohttp_server(app, host="127.0.0.1")
    auth.time_key_fetches()  # as mounting Teams does
    monkeypatch.setattr(auth, "KEY_FETCH_SECONDS", 0.2)
    metadata = _OpenIdMetadata(f"http://127.0.0.1:{server.port}/metadata")
    assert isinstance(jwt_token_extractor.requests, auth.TimedRequests)
    try:
        with pytest.raises(requests.Timeout):
            await asyncio.wait_for(asyncio.to_thread(asyncio.run, metadata._refresh()), 10)
    finally:
        done.set()


async def test_signing_keys_that_cannot_be_fetched_give_503_not_401(aiohttp_server, monkeypatch):
    """A Microsoft outage is not the sender's fault: a refused or timed-out key fetch asks Teams to retry."""
    from botframework.connector.auth import AuthenticationConstants
    from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

    done = asyncio.Event()

    async def never(_: web.Request) -> web.Response:
        await done.wait()
        return web.json_response({})

    hang_app = web.Application()
    hang_app.router.add_get("/metadata", never)
    hang = await aiohttp_server(hang_app, host="127.0.0.1")
    monkeypatch.setattr(auth, "KEY_FETCH_SECONDS", 0.3)
    keys = SigningKeys()
    bot = await start_bot(aiohttp_server, monkeypatch, app_id=APP_ID)
    try:
        headers = {"Authorization": f"Bearer {keys.token(bot.connector)}"}
        for where in (f"http://127.0.0.1:{hang.port}/metadata", "http://127.0.0.1:9/metadata"):  # hangs; refused
            for url in (AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
                        AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL):
                monkeypatch.setitem(JwtTokenExtractor.metadataCache, url, _OpenIdMetadata(where))
            status, _ = await bot.post(team_update(bot.connector), headers=headers)
            assert status == 503, where
    finally:
        done.set()
        await bot.session.close()


def test_only_a_missing_key_fetch_counts_as_unreachable():
    wrapped = PermissionError("bad token")
    wrapped.__cause__ = requests.ConnectionError("refused")
    assert auth.keys_unreachable(wrapped) and auth.keys_unreachable(TimeoutError())
    assert not auth.keys_unreachable(PermissionError("Unauthorized. Invalid signature."))


async def test_the_bots_own_credentials_are_kept_and_their_token_fetched_off_the_event_loop(caplog):
    """botbuilder would make new credentials (an empty token cache) per message and fetch on the event loop."""
    from concurrent.futures import ThreadPoolExecutor

    class Credentials:
        microsoft_app_id = APP_ID

        def __init__(self) -> None:
            self.threads: list[str] = []
            self.fail = False

        def get_access_token(self) -> str:
            self.threads.append(threading.current_thread().name)
            if self.fail:
                raise requests.ConnectionError("login.microsoftonline.com unreachable")
            return "token"

    made: list[Credentials] = []

    class Inner:
        async def is_valid_app_id(self, app_id: str) -> bool:
            return app_id == APP_ID

        async def is_authentication_disabled(self) -> bool:
            return False

        async def create_credentials(self, *key: object) -> Credentials:
            made.append(Credentials())
            return made[-1]

    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="teams-outgoing-token")
    try:
        tokens = auth.OutgoingTokens(Inner(), pool)  # type: ignore[arg-type]
        key = (APP_ID, "https://api.botframework.com", "https://login.microsoftonline.com/botframework.com", True)
        got = await asyncio.gather(*(tokens.create_credentials(*key) for _ in range(5)))
        assert len(made) == 1 and all(c is made[0] for c in got)  # one set, so msal's cache is kept
        assert len(made[0].threads) == 5
        assert all(name.startswith("teams-outgoing-token") for name in made[0].threads)  # never the loop's
        assert await tokens.is_valid_app_id(APP_ID) and not await tokens.is_authentication_disabled()
        made[0].fail = True
        assert await tokens.create_credentials(*key) is made[0]  # a failed fetch does not fail the turn
        assert "could not fetch the bot's token for Teams (ConnectionError)" in caplog.text
    finally:
        pool.shutdown()

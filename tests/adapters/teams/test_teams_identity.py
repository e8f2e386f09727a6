"""The bot's own identity towards Teams, for each MICROSOFT_APP_TYPE: single tenant (the default) and multi-tenant sign
with the app registration's secret, from the right authority; a user-assigned managed identity signs with a token from
the identity endpoint Azure gives the host, asked for the identity's client id, with no secret and within a time limit.

A managed identity's token exists only on Azure. Here a fake of App Service's identity endpoint (IDENTITY_ENDPOINT and
IDENTITY_HEADER, which msal reads) on 127.0.0.1 stands in for it: what is tested is what the bot asks for and what it
does with the answer, never Azure itself. Every other token fetch is replaced, so no test reaches the network.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msal
import pytest
import requests
from aiohttp import web
from botframework.connector.auth import (
    AuthenticationConstants,
    ClaimsIdentity,
    ManagedIdentityAppCredentials,
    MicrosoftAppCredentials,
)
from teams_server import start_bot
from teams_support import APP_ID, JORDAN, TENANT, SigningKeys, patch_openid, personal_message

from adapters.teams import auth
from adapters.teams.mount import bot_config, make_adapter
from bot.config import read_settings

BOT_FRAMEWORK = "https://api.botframework.com"  # the audience of the bot's tokens for the Bot Connector
MSI = {"MICROSOFT_APP_TYPE": "UserAssignedMSI", "MICROSOFT_APP_TENANT_ID": TENANT}


class IdentityEndpoint:
    """App Service's managed identity endpoint, as msal calls it: GET with api-version, resource and client_id, and the
    X-IDENTITY-HEADER secret the platform gives the host."""

    def __init__(self, header: str = "local-identity-header") -> None:
        self.header = header
        self.asked: list[dict[str, str]] = []
        self.hang = False
        self.released = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/msi/token", self.token)
        return app

    async def token(self, request: web.Request) -> web.Response:
        self.asked.append({**request.query, "header": request.headers.get("X-IDENTITY-HEADER", "")})
        if self.hang:
            await self.released.wait()
        return web.json_response({"access_token": f"msi-token-for-{request.query.get('client_id')}",
                                  "expires_on": str(int(time.time()) + 3600), "resource": request.query["resource"],
                                  "token_type": "Bearer"})


async def on_app_service(aiohttp_server: Any, monkeypatch: Any) -> IdentityEndpoint:
    """Make this process look like an App Service host with a managed identity endpoint on 127.0.0.1."""
    endpoint = IdentityEndpoint()
    server = await aiohttp_server(endpoint.app(), host="127.0.0.1")
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{server.port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", endpoint.header)
    for other in ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET"):  # (Service Fabric, Azure ML)
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setattr(ManagedIdentityAppCredentials, "global_token_cache", msal.TokenCache())
    return endpoint


async def test_a_managed_identity_signs_the_bots_replies_with_its_own_token(aiohttp_server, monkeypatch):
    endpoint = await on_app_service(aiohttp_server, monkeypatch)
    keys = SigningKeys()
    patch_openid(monkeypatch, keys)
    bot = await start_bot(aiohttp_server, monkeypatch, cases_channel="", app_id=APP_ID, identity=MSI)
    try:
        headers = {"Authorization": f"Bearer {keys.token(bot.connector)}"}
        for text in ("help", "help"):
            status, body = await bot.post(personal_message(JORDAN, text, bot.connector), headers=headers)
            assert status == 200, body
            await bot.core.work.settle()
    finally:
        await bot.session.close()
    replies = bot.fake.posted()
    assert len(replies) == 2
    assert {call.authorization for call in replies} == {f"Bearer msi-token-for-{APP_ID}"}
    # Asked once (then msal's cache answers), for the identity's client id, the Bot Connector's audience, no secret.
    assert endpoint.asked == [{"api-version": "2019-08-01", "resource": BOT_FRAMEWORK, "client_id": APP_ID,
                               "header": endpoint.header}]


async def test_an_identity_endpoint_that_does_not_answer_costs_a_reply_not_the_bot(aiohttp_server, monkeypatch):
    """botbuilder would wait for the token without limit, on the event loop once the warm-up gave up."""
    endpoint = await on_app_service(aiohttp_server, monkeypatch)
    endpoint.hang = True
    monkeypatch.setattr(auth, "IDENTITY_SECONDS", 0.3)
    monkeypatch.setattr(auth, "AUTH_SECONDS", 1.0)
    keys = SigningKeys()
    patch_openid(monkeypatch, keys)
    bot = await start_bot(aiohttp_server, monkeypatch, cases_channel="", app_id=APP_ID, identity=MSI)
    started = time.monotonic()
    try:
        headers = {"Authorization": f"Bearer {keys.token(bot.connector)}"}
        await asyncio.wait_for(bot.post(personal_message(JORDAN, "help", bot.connector), headers=headers), 20)
        await asyncio.wait_for(bot.core.work.settle(), 20)
    finally:
        endpoint.released.set()
        await bot.session.close()
    assert time.monotonic() - started < 15
    assert endpoint.asked and all(asked["client_id"] == APP_ID for asked in endpoint.asked)
    assert bot.fake.posted() == []  # nothing went to Teams unsigned


def test_a_managed_identitys_token_fetch_gets_a_timeout():
    credentials = ManagedIdentityAppCredentials(APP_ID, BOT_FRAMEWORK)
    auth.time_identity_fetches(credentials)
    assert isinstance(credentials.app, msal.ManagedIdentityClient)
    assert credentials.app._managed_identity == {"ManagedIdentityIdType": "ClientId", "Id": APP_ID}
    timeouts: list[Any] = []

    class Recording(auth.TimedSession):
        def send(self, request: Any, **kwargs: Any) -> Any:
            timeouts.append(kwargs.get("timeout"))
            raise requests.ConnectionError("not sent")

    with pytest.raises(requests.ConnectionError):
        Recording().get("http://127.0.0.1:9/metadata/identity/oauth2/token")
    assert timeouts == [auth.IDENTITY_SECONDS]
    others = MicrosoftAppCredentials(APP_ID, "secret", TENANT)
    auth.time_identity_fetches(others)  # a secret's credentials are left as botbuilder makes them
    assert others.app is None


@pytest.mark.parametrize(("env", "kind", "authority"), [
    ({"MICROSOFT_APP_PASSWORD": "secret", "MICROSOFT_APP_TENANT_ID": TENANT}, MicrosoftAppCredentials,
     f"https://login.microsoftonline.com/{TENANT}"),
    ({"MICROSOFT_APP_TYPE": "MultiTenant", "MICROSOFT_APP_PASSWORD": "secret"}, MicrosoftAppCredentials,
     "https://login.microsoftonline.com/botframework.com"),
    (MSI, ManagedIdentityAppCredentials, None),
])
async def test_each_app_type_signs_with_the_credentials_microsoft_expects(env, kind, authority, monkeypatch):
    """Through the adapter's own connector factory (what every reply and proactive message uses). A single-tenant bot
    asking the Bot Framework tenant for its token is Microsoft's AADSTS700016 ("not found in the directory")."""
    fetched: list[str] = []

    def fake_token(self: Any, force_refresh: bool = False) -> str:
        fetched.append(type(self).__name__)
        return "local-token"

    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", fake_token)
    monkeypatch.setattr(ManagedIdentityAppCredentials, "get_access_token", fake_token)
    settings = read_settings({"MICROSOFT_APP_ID": APP_ID, **env})
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="teams-outgoing-token")
    try:
        adapter = make_adapter(settings, pool)
        identity = ClaimsIdentity({AuthenticationConstants.AUDIENCE_CLAIM: APP_ID}, True)
        factory = adapter.bot_framework_authentication.create_connector_factory(identity)
        client = await factory.create("http://127.0.0.1:9/")
    finally:
        pool.shutdown()
    credentials = client.config.credentials
    assert type(credentials) is kind and credentials.microsoft_app_id == APP_ID
    assert credentials.oauth_scope == BOT_FRAMEWORK
    if authority:
        assert credentials.oauth_endpoint == authority and credentials.microsoft_app_password == "secret"
    else:
        assert credentials.app._managed_identity == {"ManagedIdentityIdType": "ClientId", "Id": APP_ID}
    assert fetched == [kind.__name__]  # warmed once, off the event loop (auth.OutgoingTokens)
    assert client.config.credentials.signed_session().headers["Authorization"] == "Bearer local-token"


@pytest.mark.parametrize("app_type", ["", "SingleTenant", "UserAssignedMSI", "MultiTenant"])
def test_local_trials_sign_nothing_whatever_the_app_type(app_type):
    """Without an app id only botbuilder's MultiTenant branch allows no credentials (its others want an app id)."""
    settings = read_settings({"BOT_TEAMS_EMULATOR": "1", "MICROSOFT_APP_TYPE": app_type})
    assert settings.teams_emulator
    assert bot_config(settings).APP_TYPE == "MultiTenant" and bot_config(settings).APP_ID == ""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        make_adapter(settings, pool)  # (botbuilder refused a SingleTenant type without an app id)
    finally:
        pool.shutdown()

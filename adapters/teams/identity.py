"""The bot's own identity towards Teams, checked (`python -m bot check-config`): a token fetched as the bot fetches one.

The credentials are the ones botbuilder makes for every reply and proactive message (its configuration credential
factory over mount.bot_config: an app registration's secret for SingleTenant and MultiTenant, a managed identity for
UserAssignedMSI), for the public cloud's audience and login endpoint, with auth.time_token_fetches' time limits; the
token is fetched on a thread of its own (a daemon, so a fetch that never ends cannot keep the command from ending),
within TOKEN_SECONDS.
Nothing is sent to Teams and nothing is kept. No message here ever holds the secret or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
from typing import Any

import requests
from botbuilder.integration.aiohttp import ConfigurationServiceClientCredentialFactory
from botframework.connector.auth import AuthenticationConstants, MicrosoftAppCredentials

from adapters.teams.auth import LOGIN_URL, time_token_fetches
from adapters.teams.mount import bot_config
from bot.door import Settings

TOKEN_SECONDS = 8.0  # the whole fetch: the login endpoint's configuration, then the token (each call at most 4 s)
# What Microsoft's most common refusals mean for the settings (AADSTS codes, as Microsoft Entra documents them).
HINTS = {
    "AADSTS7000215": "MICROSOFT_APP_PASSWORD is not the client secret's value (copy the Value, not the Secret ID)",
    "AADSTS7000222": "the client secret in MICROSOFT_APP_PASSWORD has expired: make a new one in the app registration",
    "AADSTS700016": "no app MICROSOFT_APP_ID in that tenant: check MICROSOFT_APP_ID and MICROSOFT_APP_TENANT_ID (a "
                    "multi-tenant bot registered before 31 July 2025 sets MICROSOFT_APP_TYPE=MultiTenant)",
    "AADSTS90002": "no such tenant: check MICROSOFT_APP_TENANT_ID (the app registration's Directory (tenant) ID)",
}


class TokenProblem(Exception):
    """No token: the message says why, and what to do (never the secret)."""


def authority(credentials: Any, settings: Settings) -> str:
    """Where these credentials get their token: the login authority (an app registration's secret), or the managed
    identity's endpoint."""
    if isinstance(credentials, MicrosoftAppCredentials):
        return (settings.teams_login_url or LOGIN_URL) + str(credentials.oauth_endpoint)[len(LOGIN_URL):]
    endpoint = os.environ.get("IDENTITY_ENDPOINT", "").strip()
    return f"the managed identity endpoint {endpoint}" if endpoint else "Azure's instance metadata endpoint"


async def token_from(settings: Settings, seconds: float = TOKEN_SECONDS) -> str:
    """Fetch the bot's token for Teams as the bot would; where it came from (`authority`). TokenProblem if none came
    within `seconds`."""
    factory = ConfigurationServiceClientCredentialFactory(bot_config(settings))
    credentials = await factory.create_credentials(settings.teams_app_id,
                                                   AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
                                                   LOGIN_URL, True)
    where = authority(credentials, settings)
    time_token_fetches(credentials, settings.teams_login_url)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()

    def settle(outcome: str | BaseException) -> None:
        if not done.done():
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)

    def fetch() -> None:
        try:
            outcome: str | BaseException = credentials.get_access_token()
        except BaseException as exc:
            outcome = exc
        with contextlib.suppress(RuntimeError):  # (the command has given up on it and ended its loop)
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=fetch, name="check-teams-token", daemon=True).start()
    try:
        async with asyncio.timeout(seconds):
            await done
    except TimeoutError:
        raise TokenProblem(f"no answer from {where} within {seconds:.0f} s{_unreachable_hint(settings)}") from None
    except Exception as exc:
        raise TokenProblem(_reason(exc, where, settings)) from None
    return where


def _unreachable_hint(settings: Settings) -> str:
    if settings.teams_app_type == "UserAssignedMSI":
        return " (UserAssignedMSI works only on Azure, with the identity assigned to this host)"
    return " (is Microsoft's login endpoint reachable from this host? a proxy needs HTTPS_PROXY)"


def _reason(exc: BaseException, where: str, settings: Settings) -> str:
    """One line about a failed fetch: Microsoft's error code and what it means for the settings."""
    text = " ".join(str(exc).split())
    if settings.teams_app_password:
        text = text.replace(settings.teams_app_password, "***")
    if isinstance(exc, requests.RequestException):
        return f"cannot reach {where}: {type(exc).__name__}{_unreachable_hint(settings)}"
    if isinstance(exc, PermissionError):  # botbuilder: "Failed to get access token with error: X, error_description: Y"
        found = re.search(r"with error: ([^,]*), error_description: (.*)", text)
        error, description = (found[1], found[2]) if found else ("refused", text)
        code = re.match(r"(AADSTS\d+)", description)
        if code and code[1] in HINTS:
            return f"{where} refused the bot's credentials: {error} ({code[1]}): {HINTS[code[1]]}"
        first = re.split(r"(?<=\.)\s|\s(?:Trace ID|Correlation ID|Timestamp):", description)[0]
        return f"{where} refused the bot's credentials: {error} ({first[:160]})"
    if isinstance(exc, ValueError) and "authority" in text.lower():  # msal: the tenant's configuration was refused
        return (f"{where} does not know the tenant {settings.teams_tenant_id or 'botframework.com'}: "
                f"{HINTS['AADSTS90002'] if settings.teams_tenant_id else 'check MICROSOFT_APP_TYPE'}")
    if isinstance(exc, KeyError):  # botbuilder reads a managed identity's answer as a token, whatever it says
        return f"{where} gave no token: is the identity MICROSOFT_APP_ID assigned to this host?"
    hint = _unreachable_hint(settings) if settings.teams_app_type == "UserAssignedMSI" else ""
    return f"no token from {where}: {type(exc).__name__}: {text[:160]}{hint}"


async def teams_check(settings: Settings) -> tuple[str, str]:
    """Teams reached as the bot reaches it, for `check-config`: a token for the app, fetched as the bot fetches its
    own; ("ok" | "FAIL" | "skipped", what was seen), never the token."""
    if settings.teams_emulator:
        return "skipped", "local trial mode (BOT_TEAMS_EMULATOR=1: no app id, nothing to sign in with)"
    if not settings.teams_app_id:
        return "skipped", "not configured (MICROSOFT_APP_ID unset)"
    try:
        where = await token_from(settings)
    except TokenProblem as exc:
        return "FAIL", str(exc)
    return "ok", f"got a token for MICROSOFT_APP_ID {settings.teams_app_id} from {where} ({settings.teams_app_type})"

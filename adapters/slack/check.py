"""Slack reached as the bot reaches it, for `check-config` (bot.cli.check, through bot.app): one call to the Web API
with each of the app's tokens, with a time limit, changing nothing; each answer a (status, text) line, never a token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.door import Settings

NETWORK_SECONDS = 5.0  # one call to Slack
SLACK_HINTS = {
    "invalid_auth": "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
    "not_authed": "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
    "token_revoked": "the app was removed or its token revoked: reinstall it and copy its new token",
    "account_inactive": "the app was removed or its token revoked: reinstall it and copy its new token",
    "token_expired": "token rotation is on for the app: turn it off (the bot does not refresh tokens)",
}
APP_HINTS = dict.fromkeys(("invalid_auth", "not_authed", "token_revoked", "not_allowed_token_type"),
                          "copy an app-level token (xapp-...) with the connections:write scope from the app's Basic "
                          "Information page, and turn Socket Mode on")
Checked = tuple[str, str]  # ("ok" | "FAIL" | "skipped", what was seen)


@dataclass(frozen=True)
class SlackCheck:
    """One call to Slack's Web API with one of the app's tokens: `call(client, settings)` returns the ok line's
    text; a refusal names `setting`. `needed(settings)`: whether these settings use that token."""

    method: str
    setting: str
    call: Callable[[Any, Settings], Awaitable[str]]
    needed: Callable[[Settings], bool] = lambda settings: True
    hints: Mapping[str, str] = field(default_factory=lambda: SLACK_HINTS)  # what to do, by Slack's error code


async def auth_test(client: Any, settings: Settings) -> str:
    answer = await client.auth_test()
    return f"auth.test as {answer.get('user')} in team {answer.get('team')} (SLACK_BOT_TOKEN)"


async def connections_open(client: Any, settings: Settings) -> str:
    """Socket Mode: the app-level token asks for a WebSocket address (never used: it expires unopened, and nothing
    of the app changes)."""
    await client.apps_connections_open(app_token=settings.slack_app_token)
    return "apps.connections.open gave a Socket Mode address (SLACK_APP_TOKEN)"


SLACK_CHECKS = (SlackCheck("auth.test", "SLACK_BOT_TOKEN", auth_test),
                SlackCheck("apps.connections.open", "SLACK_APP_TOKEN", connections_open,
                           lambda settings: settings.slack_socket_mode, APP_HINTS))


async def slack_checks(settings: Settings) -> list[Checked]:
    if not settings.slack_enabled:
        return [("skipped", "not configured (SLACK_BOT_TOKEN, with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN, unset)")]
    base = settings.slack_api_url or "https://slack.com/api/"
    quiet = logging.getLogger("adapters.slack.check")
    quiet.setLevel(logging.WARNING)  # (the SDK logs whole requests at DEBUG)
    client = AsyncWebClient(token=settings.slack_token, base_url=base, timeout=int(NETWORK_SECONDS),
                            retry_handlers=[], logger=quiet)
    lines: list[Checked] = []
    for check in (check for check in SLACK_CHECKS if check.needed(settings)):
        try:
            async with asyncio.timeout(NETWORK_SECONDS + 1):
                lines.append(("ok", await check.call(client, settings)))
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            error = data.get("error") if isinstance(data, dict) else None
            if error:
                hint = check.hints.get(str(error), f"check {check.setting}")
                lines.append(("FAIL", f"Slack refused {check.setting} ({check.method}): {error}: {hint}"))
            else:
                status = getattr(exc.response, "status_code", "?")
                lines.append(("FAIL", f"{base} answered {check.method} with HTTP {status}, not Slack's "
                                  "answer: check SLACK_API_URL (empty for Slack's own) and any proxy between"))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # (no answer in time, refused, no route, no name)
            lines.append(("FAIL", f"cannot reach Slack at {base} within {NETWORK_SECONDS:.0f} s "
                              f"({type(exc).__name__}): check this host's route to Slack (a proxy needs HTTPS_PROXY)"))
    return lines

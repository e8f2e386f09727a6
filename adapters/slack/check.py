"""Slack reached as the bot reaches it, for `check-config` (bot.cli.check, through bot.app): one call to the Web API
with each of the app's tokens, with a time limit, changing nothing; each answer a (status, text) line, never a token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
Checked = tuple[str, str]  # ("ok" | "FAIL" | "skipped", what was seen)


@dataclass(frozen=True)
class SlackCheck:
    """One call to Slack's Web API with one of the app's tokens: `call(client, settings)` returns the ok line's
    text; a refusal names `setting`. (A Socket Mode app token would add apps.connections.open to SLACK_CHECKS.)"""

    method: str
    setting: str
    call: Callable[[Any, Settings], Awaitable[str]]


async def auth_test(client: Any, settings: Settings) -> str:
    answer = await client.auth_test()
    return f"auth.test as {answer.get('user')} in team {answer.get('team')} (SLACK_BOT_TOKEN)"


SLACK_CHECKS = (SlackCheck("auth.test", "SLACK_BOT_TOKEN", auth_test),)


async def slack_checks(settings: Settings) -> list[Checked]:
    if not settings.slack_enabled:
        return [("skipped", "not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET unset)")]
    base = settings.slack_api_url or "https://slack.com/api/"
    quiet = logging.getLogger("adapters.slack.check")
    quiet.setLevel(logging.WARNING)  # (the SDK logs whole requests at DEBUG)
    client = AsyncWebClient(token=settings.slack_token, base_url=base, timeout=int(NETWORK_SECONDS),
                            retry_handlers=[], logger=quiet)
    lines: list[Checked] = []
    for check in SLACK_CHECKS:
        try:
            async with asyncio.timeout(NETWORK_SECONDS + 1):
                lines.append(("ok", await check.call(client, settings)))
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            error = data.get("error") if isinstance(data, dict) else None
            if error:
                hint = SLACK_HINTS.get(str(error), f"check {check.setting}")
                lines.append(("FAIL", f"Slack refused {check.setting} ({check.method}): {error}: {hint}"))
            else:
                status = getattr(exc.response, "status_code", "?")
                lines.append(("FAIL", f"{base} answered {check.method} with HTTP {status}, not Slack's "
                                  "answer: check SLACK_API_URL (empty for Slack's own) and any proxy between"))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # (no answer in time, refused, no route, no name)
            lines.append(("FAIL", f"cannot reach Slack at {base} within {NETWORK_SECONDS:.0f} s "
                              f"({type(exc).__name__}): check this host's route to Slack (a proxy needs HTTPS_PROXY)"))
    return lines

"""Mounts the Teams channel on the project's aiohttp app: botbuilder's CloudAdapter behind `POST /api/messages`.

With MICROSOFT_APP_ID every request's token is validated, and the bot's own calls to Teams carry a token for the
app type (bot.config): SingleTenant (the default) or MultiTenant from the app registration's client secret
(MICROSOFT_APP_PASSWORD; SingleTenant from its tenant, MICROSOFT_APP_TENANT_ID), UserAssignedMSI from the managed
identity whose client id is the app id, no secret. botbuilder's ConfigurationServiceClientCredentialFactory picks the
credentials from BotConfig. Without an app id no request is authenticated (the local trial mode that the Microsoft 365
Agents Playground and the Bot Framework Emulator use): `serve` then refuses any bind that is not a loopback address.
botbuilder-python is archived (4.17.1 is its last release): every import of it stays in this folder (see
docs/teams-migration.md).
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from msrest.universal_http.requests import ClientRetryPolicy

from adapters.teams.activities import connector_problem
from adapters.teams.answers import TeamsAnswers
from adapters.teams.auth import OutgoingTokens, TokenChecker
from adapters.teams.bot import TeamsBot
from adapters.teams.references import References
from adapters.teams.route import teams_handler
from adapters.teams.sender import TeamsSender
from bot.door import ChannelInfo, ConfigError, Door, Settings

log = logging.getLogger(__name__)
ROUTE = "/api/messages"
CHANNEL_ID = re.compile(r"^19:[A-Za-z0-9_.\-]+@thread\.[a-z0-9]+$")
TEAMS_BOT = web.AppKey("teams_bot", TeamsBot)
HELP_NOTE = "In a channel, @mention me first."
SORRY = "Sorry, something went wrong on my side and your last message may not have been handled. Please try again."


# botbuilder builds a new connector client for every turn, and each builds msrest's retry policy, which tests 999
# status codes against a 502-long list (`i not in safe_codes`): 10 ms of CPU a turn, most of a turn's cost. The same
# codes as a set give the same policy in microseconds.
ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]


@dataclass(frozen=True)
class BotConfig:
    """The attribute names ConfigurationBotFrameworkAuthentication reads."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


def bot_config(settings: Settings) -> BotConfig:
    """The settings as botbuilder reads them. Without an app id (local trials) botbuilder's MultiTenant branch is the
    only one that allows no credentials (its SingleTenant and UserAssignedMSI branches require an app id), so the
    type is MultiTenant there whatever MICROSOFT_APP_TYPE says; nothing is then signed or checked."""
    if not settings.teams_app_id:
        return BotConfig("", "", "MultiTenant", "")
    return BotConfig(settings.teams_app_id, settings.teams_app_password, settings.teams_app_type,
                     settings.teams_tenant_id)


def make_adapter(settings: Settings, token_pool: ThreadPoolExecutor) -> CloudAdapter:
    """botbuilder's CloudAdapter for these settings; the bot's own tokens are fetched on `token_pool` (see
    auth.OutgoingTokens), which the caller shuts down."""
    config = bot_config(settings)
    try:
        outgoing = OutgoingTokens(ConfigurationServiceClientCredentialFactory(config), token_pool,
                                  settings.teams_login_url)
        adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config, credentials_factory=outgoing))
    except Exception as exc:  # botbuilder's own check, e.g. a managed identity without a tenant
        raise ConfigError(f"the Microsoft app settings are incomplete: {exc}") from None
    adapter.on_turn_error = turn_failed
    return adapter


async def turn_failed(context: TurnContext, error: Exception) -> None:
    """A turn raised: log the kind (never the activity), and tell the user to try again."""
    log.error("teams: a turn failed (%s)", type(error).__name__, exc_info=error)
    try:
        await context.send_activity(SORRY)
    except Exception as exc:
        log.warning("teams: could not say sorry either (%s)", connector_problem(exc) or type(exc).__name__)


def mount_teams(app: web.Application, settings: Settings, door: Door) -> None:
    channel = settings.teams_cases_channel
    if channel and not CHANNEL_ID.match(channel):
        raise ConfigError(f"TEAMS_CASES_CHANNEL must be a Teams channel id such as 19:abc123@thread.tacv2 "
                          f"(found {channel!r}; in a channel link it is the part after /channel/, URL-decoded)")
    token_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="teams-outgoing-token")
    adapter = make_adapter(settings, token_pool)
    state = door.state("teams")
    refs = References(state)
    sender = TeamsSender(adapter, settings.teams_app_id, refs, state)
    door.connect(ChannelInfo("teams", forms=True, help_note=HELP_NOTE, cases_place=channel), sender)
    bot = TeamsBot(TeamsAnswers(door, sender), refs, state)
    app[TEAMS_BOT] = bot
    tokens = TokenChecker(adapter)

    async def stop_checking(_: web.Application) -> None:
        tokens.close()
        token_pool.shutdown(wait=False, cancel_futures=True)

    async def turn(context: TurnContext) -> None:
        async with door.working():  # (a stop waits for a turn; turns count towards `overloaded`)
            await bot.on_turn(context)

    app.on_cleanup.append(stop_checking)
    app.router.add_post(ROUTE, teams_handler(adapter, turn, settings.teams_app_id, tokens,
                                             overloaded=lambda: door.overloaded))

"""Mounts the Slack channel on the project's aiohttp app, when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import views
from adapters.slack.listeners import register
from adapters.slack.route import slack_handler
from adapters.slack.sender import SlackSender
from bot.config import Settings
from bot.conversation.engine import Engine
from bot.jobs.outbox import Outbox

ROUTE = "/slack/events"


def quiet_logger() -> logging.Logger:
    """bolt's own logger, held at WARNING: at INFO and below bolt can log whole request bodies."""
    logger = logging.getLogger("adapters.slack.bolt")
    logger.setLevel(logging.WARNING)
    return logger


def mount_slack(app: web.Application, settings: Settings, engine: Callable[[], Engine], outbox: Outbox) -> None:
    client = AsyncWebClient(token=settings.slack_token, base_url=settings.slack_api_url or "https://slack.com/api/",
                            logger=quiet_logger())
    bolt = AsyncApp(client=client, signing_secret=settings.slack_signing_secret,
                    logger=quiet_logger(), request_verification_enabled=True)
    sender = SlackSender(client, lambda: engine().directory, engine)
    outbox.register("slack", sender)
    register(bolt, engine, sender, settings.slack_cases_channel)
    handled = frozenset({"/escalate", views.START, views.INTAKE, views.ACTION})
    app.router.add_post(ROUTE, slack_handler(bolt, settings.slack_signing_secret, handled=handled))

    async def shared_session(_: web.Application) -> AsyncIterator[None]:
        # One HTTP session for every Web API call (slack_sdk otherwise opens a new one per call).
        # (no trust_env: it re-reads the proxy settings and ~/.netrc on every request, which doubles /escalate's CPU;
        # the proxy the SDK read from HTTPS_PROXY at start-up is passed on each call instead, views.open included)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        client.session = session
        yield
        client.session = None
        await session.close()

    app.cleanup_ctx.append(shared_session)

"""Mounts the Slack channel on the project's aiohttp app: over HTTP (`POST /slack/events`, when SLACK_BOT_TOKEN and
SLACK_SIGNING_SECRET are set) or over Socket Mode (when SLACK_APP_TOKEN is set), with the same listeners either way."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.answers import Answers
from adapters.slack.listeners import HANDLED, register
from adapters.slack.payloads import COMMAND
from adapters.slack.route import slack_handler
from adapters.slack.sender import SlackSender
from adapters.slack.socket_mode import Measure, SocketMode
from bot.door import ChannelInfo, Door, Settings

ROUTE = "/slack/events"
WEB_API_SECONDS = 15  # one Web API call (the outbox gives up on a post after its own, slightly longer, limit)
SLACK_SOCKET = web.AppKey("slack_socket", SocketMode)  # (the Socket Mode connection, when there is one)


def quiet_logger() -> logging.Logger:
    """bolt's own logger, held at WARNING: at INFO and below bolt can log whole request bodies. (bolt warns that the
    token it finds in SLACK_BOT_TOKEN is unused, as the client it is given carries it: that one is dropped.)"""
    logger = logging.getLogger("adapters.slack.bolt")
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _TokenInClient) for f in logger.filters):
        logger.addFilter(_TokenInClient())
    return logger


class _TokenInClient(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def mount_slack(app: web.Application, settings: Settings, door: Door,
                measure: Measure | None = None) -> SocketMode | None:
    """Slack's listeners on `app`, connected to the core through `door` exactly once. Over HTTP: the route. Over
    Socket Mode: the connection, returned (and kept at `app[SLACK_SOCKET]`) for the composition root to start once the
    store is open (SocketMode.running in cleanup_ctx, after the core's) and to ask whether it is connected. `measure`:
    told of each envelope answered (route, status, seconds), as requests are counted."""
    # No retries inside the SDK: the core's outbox retries (a retry here after a broken connection could post twice).
    client = AsyncWebClient(token=settings.slack_token, base_url=settings.slack_api_url or "https://slack.com/api/",
                            logger=quiet_logger(), retry_handlers=[], timeout=WEB_API_SECONDS)
    socket_mode = settings.slack_socket_mode
    # (bolt checks no signature on a Socket Mode envelope: none comes over HTTP)
    bolt = AsyncApp(client=client, signing_secret=settings.slack_signing_secret,
                    logger=quiet_logger(), request_verification_enabled=not socket_mode)
    sender = SlackSender(client)
    door.connect(ChannelInfo("slack", forms=True, command=COMMAND, cases_place=settings.slack_cases_channel), sender)
    register(bolt, Answers(door, sender, door.state("slack")))
    socket = None
    if socket_mode:
        socket = SocketMode(bolt, client, settings.slack_app_token, HANDLED, overloaded=lambda: door.overloaded,
                            measure=measure)
        app[SLACK_SOCKET] = socket
        app.on_shutdown.append(lambda _: socket.stop())  # (at once, while requests in flight are finished)
    else:
        app.router.add_post(ROUTE, slack_handler(bolt, settings.slack_signing_secret, HANDLED,
                                                 overloaded=lambda: door.overloaded))

    async def shared_session(_: web.Application) -> AsyncIterator[None]:
        # One HTTP session for every Web API call (slack_sdk otherwise opens a new one per call).
        # (no trust_env: it re-reads the proxy settings and ~/.netrc on every request, which doubles /escalate's CPU;
        # the proxy the SDK read from HTTPS_PROXY at start-up is passed on each call instead, views.open included)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_SECONDS))
        client.session = session
        yield
        client.session = None
        await session.close()

    app.cleanup_ctx.append(shared_session)
    return socket

"""`python -m bot check-config`: the settings checked, and the store, Slack and Teams reached, changing nothing.

One line per check, for an operator to read before starting (or upgrading) the service: `ok`, `FAIL` (what is wrong
and what to do) or `skipped` (a channel not configured). Exit 0 when nothing failed, 1 when something did (2, as every
command, for a setting that stops start-up). It writes nothing anywhere: the embedded store is opened as a guest
(TinyDBStore shared: no lock taken, nothing made or cleaned, so it runs beside the bot too), PostgreSQL is only read
(storage.postgres_look), and the master keys are only tried against the data keys' records. Every call over the
network has a time limit of a few seconds, and they run side by side. No token, secret or password is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli.check_store import Line, Seen, database, embedded, key_folder
from bot.cli.common import add_data
from bot.config import Settings
from policies.loader import load_policies
from storage.keys import Keyring, KeyringError, KeySource

NETWORK_SECONDS = 5.0  # one call to Slack (the database's own limit: storage.postgres_look; Teams': identity.py)
SLACK_HINTS = {
    "invalid_auth": "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
    "not_authed": "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
    "token_revoked": "the app was removed or its token revoked: reinstall it and copy its new token",
    "account_inactive": "the app was removed or its token revoked: reinstall it and copy its new token",
    "token_expired": "token rotation is on for the app: turn it off (the bot does not refresh tokens)",
}


def add_parsers(sub: Any) -> None:
    check = sub.add_parser("check-config", help="check the settings and reach the store, Slack and Teams, changing "
                           "nothing (run it before starting or upgrading the service)")
    add_data(check)


def cmd_check_config(args: argparse.Namespace, settings: Settings) -> int:
    data_dir = (args.data or settings.data_dir).absolute()  # (the service may run from another folder than this)
    lines = asyncio.run(check_all(settings, data_dir))
    for line in lines:
        print(line, flush=True)
    return 1 if any(line.status == "FAIL" for line in lines) else 0


async def check_all(settings: Settings, data_dir: Path) -> list[Line]:
    """Every check's line, in the order an operator reads them (the network checks run side by side)."""
    first = settings_line(settings, data_dir)  # (a policy file that does not load: PolicyError, exit 2)
    source = key_source(settings, data_dir)
    store = database(settings, source) if settings.database_url else embedded(settings, data_dir, source)
    seen, slack, teams = await asyncio.gather(store, slack_lines(settings), teams_line(settings))
    return [first, master_key_line(source, seen), seen.line, *slack, teams]


def settings_line(settings: Settings, data_dir: Path) -> Line:
    policies = load_policies(settings.policy_dir, settings.policy_ids)
    store = "data in PostgreSQL (BOT_DATABASE_URL)" if settings.database_url else f"data folder {data_dir}"
    return Line("ok", "settings", f"{len(policies)} procedure{'s' if len(policies) != 1 else ''} "
                f"({', '.join(policies)}), {store}, serving on {settings.host}:{settings.port}")


# --- the master key ----------------------------------------------------------------------------------------------
def key_source(settings: Settings, data_dir: Path) -> KeySource:
    """Where the bot takes its master keys from (storage.store_for: the development key beside the data keys only for
    the embedded store)."""
    development = None if settings.database_url else key_folder(settings, data_dir) / "master.key"
    return KeySource(settings.master_key, settings.master_key_file, development)


def master_key_line(source: KeySource, seen: Seen) -> Line:
    try:
        where = key_description(source)
    except KeyringError as exc:
        return Line("FAIL", "master key", str(exc))
    if seen.keys_problem:
        return Line("FAIL", "master key", f"{seen.keys_problem}: give the bot the master key this data was sealed "
                    "under")
    return Line("ok", "master key", f"{where}; {seen.keys}" if seen.keys else where)


def key_description(source: KeySource) -> str:
    """Where the master keys come from and how many there are (never a key: ids only). KeyringError if they cannot
    be read."""
    if source.inline.strip():
        ring = Keyring.from_text(source.inline, "BOT_MASTER_KEY")
        return f"BOT_MASTER_KEY ({_keys(ring)})"
    if source.file.strip():
        path = Path(source.file.strip()).expanduser()
        ring = Keyring.from_file(path)
        return f"BOT_MASTER_KEY_FILE {path} ({_keys(ring)}, mode {stat.S_IMODE(path.stat().st_mode):o})"
    development = source.development
    if development is None:  # (PostgreSQL: replicas must share one key, so none is ever made)
        source.keyring(new_store=False)  # (raises KeyringError naming what to set)
    elif development.exists():
        ring = Keyring.from_file(development)
        return (f"the development key {development} ({_keys(ring)}; for trials only: set BOT_MASTER_KEY_FILE to a "
                "key kept apart from the data)")
    return (f"none set: the first start makes a development key at {development} (for trials only: set "
            "BOT_MASTER_KEY_FILE to a key kept apart from the data)")


def _keys(ring: Keyring) -> str:
    count = len(ring.keys)
    return f"{count} key{'s' if count != 1 else ''}, current {ring.current}"


# --- the channels ------------------------------------------------------------------------------------------------
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


async def slack_lines(settings: Settings) -> list[Line]:
    if not settings.slack_enabled:
        return [Line("skipped", "slack", "not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET unset)")]
    import aiohttp
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    base = settings.slack_api_url or "https://slack.com/api/"
    quiet = logging.getLogger("bot.cli.check.slack")
    quiet.setLevel(logging.WARNING)  # (the SDK logs whole requests at DEBUG)
    client = AsyncWebClient(token=settings.slack_token, base_url=base, timeout=int(NETWORK_SECONDS),
                            retry_handlers=[], logger=quiet)
    lines = []
    for check in SLACK_CHECKS:
        try:
            async with asyncio.timeout(NETWORK_SECONDS + 1):
                lines.append(Line("ok", "slack", await check.call(client, settings)))
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            error = data.get("error") if isinstance(data, dict) else None
            if error:
                hint = SLACK_HINTS.get(str(error), f"check {check.setting}")
                lines.append(Line("FAIL", "slack", f"Slack refused {check.setting} ({check.method}): {error}: {hint}"))
            else:
                status = getattr(exc.response, "status_code", "?")
                lines.append(Line("FAIL", "slack", f"{base} answered {check.method} with HTTP {status}, not Slack's "
                                  "answer: check SLACK_API_URL (empty for Slack's own) and any proxy between"))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # (no answer in time, refused, no route, no name)
            lines.append(Line("FAIL", "slack", f"cannot reach Slack at {base} within {NETWORK_SECONDS:.0f} s "
                              f"({type(exc).__name__}): check this host's route to Slack (a proxy needs HTTPS_PROXY)"))
    return lines


async def teams_line(settings: Settings) -> Line:
    if settings.teams_emulator:
        return Line("skipped", "teams", "local trial mode (BOT_TEAMS_EMULATOR=1: no app id, nothing to sign in with)")
    if not settings.teams_app_id:
        return Line("skipped", "teams", "not configured (MICROSOFT_APP_ID unset)")
    from adapters.teams.identity import TokenProblem, token_from

    try:
        where = await token_from(settings)
    except TokenProblem as exc:
        return Line("FAIL", "teams", str(exc))
    return Line("ok", "teams", f"got a token for MICROSOFT_APP_ID {settings.teams_app_id} from {where} "
                f"({settings.teams_app_type})")


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {"check-config": cmd_check_config}

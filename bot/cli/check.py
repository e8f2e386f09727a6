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
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

from bot.cli.check_store import Line, Seen, database, embedded, key_folder
from bot.cli.common import add_data
from bot.config import Settings
from policies.loader import load_policies
from storage.keys import Keyring, KeyringError, KeySource


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
    seen, channels = await asyncio.gather(store, channel_lines(settings))
    return [first, master_key_line(source, seen), seen.line, *channels]


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


Status = Literal["ok", "FAIL", "skipped"]


# --- the channels ------------------------------------------------------------------------------------------------
async def channel_lines(settings: Settings) -> list[Line]:
    """Slack and Teams reached as the bot reaches them (each adapter's own check, wired by bot.app)."""
    from bot.app import channel_checks

    return [Line(cast(Status, status), name, text) for name, status, text in await channel_checks(settings)]


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {"check-config": cmd_check_config}

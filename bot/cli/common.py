"""What every command-line module shares: the one-line usage error, strict argument parsing, date checks."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.config import Settings, deployment_store
from bot.dates.workdays import LONDON
from policies.loader import load_policies
from policies.model import Policy
from storage.base import Store, StoreInUse

if TYPE_CHECKING:
    from bot.admin.ops import Answer
    from bot.dates.clock import Clock

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UsageError(Exception):
    """Bad input on the command line."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")


def parse_date(text: str, option: str) -> date:
    try:
        if ISO.match(text):
            day = date.fromisoformat(text)
            if 1900 <= day.year <= 2999:
                return day
    except ValueError:
        pass
    raise UsageError(f"{option} must be a real date from 1900 to 2999, written YYYY-MM-DD (found {text!r})")


def parse_instant(text: str, option: str) -> datetime:
    """An ISO date-time; without a zone it is London time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date and time like 2026-11-25T09:00 (found {text!r})") from None
    if not 1900 <= moment.year <= 2999:
        raise UsageError(f"{option} must be between 1900 and 2999 (found {text!r})")
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def policy_named(policy_id: str, settings: Settings) -> Policy:
    policies = load_policies(settings.policy_dir)
    if policy_id not in policies:
        raise UsageError(f"unknown policy {policy_id!r}; known policies: {', '.join(sorted(policies))}")
    return policies[policy_id]


def store_of(settings: Settings, data_dir: Path | None = None, *, shared: bool = False,
             existing: bool = False) -> Store:
    """The deployment's store (bot.config.deployment_store): PostgreSQL when BOT_DATABASE_URL is set, else the data
    folder's; sealed under the deployment's master keys either way."""
    return deployment_store(settings, data_dir, shared=shared, existing=existing)


def run_operation(settings: Settings, data_dir: Path, name: str, params: dict[str, Any], *,
                  channels: bool = False, clock: Clock | None = None) -> int:
    """Run an operation that changes the store (bot.admin.ops `name`), printing what it answers and returning its exit
    code: in this process (the embedded store opened exclusively, or PostgreSQL beside the replicas; `channels`:
    Slack and Teams connected so that what it sends is delivered; `clock`: the time it runs at), or, where a bot
    running on the embedded store has it open, by that bot through its administration socket (bot.admin.socket).
    Where neither can (a bot of a version before live administration), the "store in use" refusal."""
    from bot.admin.ops import OPERATIONS, Context, Refused, operator
    from bot.admin.socket import ask
    from bot.app import operating

    policies = load_policies(settings.policy_dir, settings.policy_ids)

    async def here() -> Answer:
        async with operating(settings, data_dir, policies, clock, channels=channels) as core:
            return await OPERATIONS[name](core, params, Context(operator(), data_dir, settings))

    answer: Answer | None
    try:
        answer = asyncio.run(here())
    except Refused as exc:
        raise UsageError(str(exc)) from None
    except StoreInUse as exc:
        answer = None if settings.database_url else asyncio.run(ask(data_dir, name, params))
        if answer is None:
            raise StoreInUse(f"{exc} (and it does not answer on {data_dir}/.admin.sock, as a bot of this version "
                             f"does: restart it with this version, or stop it, to run {name})", holder=exc.holder) \
                from None
        print(f"note: done by the running bot (process {exc.holder}), which has {data_dir} open", file=sys.stderr)
    sys.stdout.write(answer.out)
    sys.stderr.write(answer.err)
    return answer.code


@asynccontextmanager
async def shared_beside_bot(settings: Settings, data_dir: Path) -> AsyncIterator[Store]:
    """The store opened exclusively, or, if another process (the running bot) has it, as a guest beside it (a
    database is shared by every process anyway).

    A guest reads and creates new records only (see TinyDBStore); one line on stderr says it is one, so standard
    output stays exactly what the command prints.
    """
    from storage.base import StoreInUse

    store = store_of(settings, data_dir, existing=True)
    try:
        await store.open()
    except StoreInUse as exc:
        store = store_of(settings, data_dir, shared=True, existing=True)
        await store.open()
        print(f"note: process {exc.holder} (the running bot?) has {data_dir} open; working beside it in shared "
              "mode (reads, and new audit-log entries only)", file=sys.stderr)
    try:
        yield store
    finally:
        await store.close()


def has_data(settings: Settings, data_dir: Path | None = None) -> bool:
    """Whether there is a store to read (a database is always there; a data folder only once made)."""
    return bool(settings.database_url) or (data_dir or settings.data_dir).is_dir()

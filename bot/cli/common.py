"""What every command-line module shares: the one-line usage error, strict argument parsing, date checks."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

from bot.config import Settings, deployment_store
from bot.dates.workdays import LONDON
from policies.loader import load_policies
from policies.model import Policy
from storage.base import Store, StoreInUse

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


@contextmanager
def refused_while_in_use(why: str) -> Iterator[None]:
    """Add to a "store in use" refusal why this command cannot run beside the bot (it stays a StoreInUse)."""
    try:
        yield
    except StoreInUse as exc:
        raise StoreInUse(f"{exc} ({why})", holder=exc.holder) from None


def store_of(settings: Settings, data_dir: Path | None = None, *, shared: bool = False,
             existing: bool = False) -> Store:
    """The deployment's store (bot.config.deployment_store): PostgreSQL when BOT_DATABASE_URL is set, else the data
    folder's; sealed under the deployment's master keys either way."""
    return deployment_store(settings, data_dir, shared=shared, existing=existing)


def has_data(settings: Settings, data_dir: Path | None = None) -> bool:
    """Whether there is a store to read (a database is always there; a data folder only once made)."""
    return bool(settings.database_url) or (data_dir or settings.data_dir).is_dir()

"""Settings from environment variables (and an optional .env file); a bad setting stops start-up with one line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING

from policies.loader import POLICY_DIR

if TYPE_CHECKING:
    from storage.base import Store

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# MICROSOFT_APP_TYPE, as botbuilder (and Azure's MicrosoftAppType app setting) spells each; SingleTenant is the default
APP_TYPES = {"singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI", "multitenant": "MultiTenant"}
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class ConfigError(Exception):
    """A setting is wrong or missing; the message names it."""


@dataclass(frozen=True)
class Settings:
    policy_ids: tuple[str, ...]
    policy_dir: Path
    data_dir: Path
    host: str
    port: int
    log_level: str
    nudge_time: time = time(9, 0)
    review_days: int = 10
    tick_seconds: int = 60
    slack_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)  # SLACK_APP_TOKEN (xapp-): Socket Mode, no public address
    slack_cases_channel: str = ""
    slack_api_url: str = ""

    summary_target: str = ""
    summary_weekday: int = 0
    summary_time: time = time(9, 0)
    teams_app_id: str = ""
    teams_app_password: str = field(default="", repr=False)
    teams_app_type: str = "SingleTenant"  # MICROSOFT_APP_TYPE: SingleTenant, UserAssignedMSI or MultiTenant
    teams_tenant_id: str = ""
    teams_cases_channel: str = ""
    teams_emulator: bool = False  # BOT_TEAMS_EMULATOR: serve /api/messages unauthenticated, loopback only
    teams_login_url: str = ""  # MICROSOFT_LOGIN_URL: only for tests (a fake of Microsoft's login endpoint)
    log_format: str = "text"  # BOT_LOG_FORMAT: text, or json (one object per line)
    metrics_token: str = field(default="", repr=False)  # BOT_METRICS_TOKEN: /metrics for callers not on this machine
    database_url: str = field(default="", repr=False)  # BOT_DATABASE_URL: PostgreSQL (replicas); empty: TinyDB
    database_schema: str = "escalation"
    master_key: str = field(default="", repr=False)  # BOT_MASTER_KEY: the master key(s) themselves
    master_key_file: str = ""  # BOT_MASTER_KEY_FILE: a file of master keys, the current first
    key_dir: Path | None = None  # BOT_KEY_DIR: the embedded store's data keys (default: <data dir>-keys)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def slack_socket_mode(self) -> bool:
        """Slack over Socket Mode (SLACK_APP_TOKEN): the bot opens the connection; no request comes over HTTP."""
        return bool(self.slack_token and self.slack_app_token)


def deployment_store(settings: Settings, data_dir: Path | None = None, *, shared: bool = False,
                     existing: bool = False) -> Store:
    """The deployment's store, sealed under its master keys: PostgreSQL when BOT_DATABASE_URL is set, else the data
    folder's (`shared`: as a guest beside the process that owns it; `existing`: an operator's read, which refuses a
    database schema that is not there, a mistyped BOT_DATABASE_SCHEMA, rather than make an empty one)."""
    from storage import KeySource, store_for

    return store_for(data_dir or settings.data_dir, settings.database_url, schema=settings.database_schema,
                     shared=shared, keys=KeySource(settings.master_key, settings.master_key_file),
                     key_dir=settings.key_dir, existing=existing)


def load_dotenv_file(path: Path = Path(".env")) -> None:
    """Read KEY=value lines from .env into the environment; real environment variables win."""
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def _whole(env: Mapping[str, str], name: str, default: str, low: int, high: int, unit: str) -> int:
    text = env.get(name, default).strip()
    if not re.fullmatch(r"[0-9]{1,6}", text) or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be a whole number of {unit} from {low} to {high} (found {text!r})")
    return int(text)


def _time(env: Mapping[str, str], name: str) -> time:
    text = env.get(name, "09:00").strip()
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text)
    if not match:
        raise ConfigError(f"{name} must be a time of day as HH:MM, e.g. 09:00 (found {text!r})")
    return time(int(match[1]), int(match[2]))


def _policies(env: Mapping[str, str]) -> dict[str, object]:
    raw_policy = env.get("BOT_POLICY", "").strip()
    ids = tuple(p.strip().lower() for p in raw_policy.split(",") if p.strip()) if raw_policy else ()
    if raw_policy and not ids:
        raise ConfigError("BOT_POLICY must be a policy id or a comma-separated list of ids (e.g. surrey,medway)")
    if len(set(ids)) != len(ids):
        raise ConfigError(f"BOT_POLICY names a policy twice: {raw_policy!r}")
    policy_dir = Path(env.get("BOT_POLICY_DIR", "") or POLICY_DIR)
    if not policy_dir.is_dir():
        raise ConfigError(f"BOT_POLICY_DIR is not a folder: {policy_dir}")
    return {"policy_ids": ids, "policy_dir": policy_dir}


def _server(env: Mapping[str, str]) -> dict[str, object]:
    port_text = env.get("BOT_PORT", "3978").strip()
    if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"BOT_PORT must be a whole number from 1 to 65535 (found {port_text!r})")
    level = env.get("BOT_LOG_LEVEL", "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"BOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (found {level!r})")
    host = env.get("BOT_HOST", "127.0.0.1").strip()
    if not host:
        raise ConfigError("BOT_HOST must not be empty (e.g. 127.0.0.1)")
    fmt = env.get("BOT_LOG_FORMAT", "text").strip().lower() or "text"
    if fmt not in ("text", "json"):
        raise ConfigError(f"BOT_LOG_FORMAT must be text or json (found {fmt!r})")
    token = env.get("BOT_METRICS_TOKEN", "").strip()
    if token and len(token) < 16:
        raise ConfigError("BOT_METRICS_TOKEN must be at least 16 characters (a random secret; leave it unset to "
                          "serve /metrics to this machine only)")
    return {"host": host, "port": int(port_text), "log_level": level, "log_format": fmt, "metrics_token": token,
            "data_dir": Path(env.get("BOT_DATA_DIR", "") or "data")}


def _database(env: Mapping[str, str]) -> dict[str, object]:
    url = env.get("BOT_DATABASE_URL", "").strip()
    if url and not re.match(r"postgres(ql)?://", url):
        raise ConfigError("BOT_DATABASE_URL must be a PostgreSQL URL, postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
                          "(or empty for the embedded store in BOT_DATA_DIR)")
    schema = env.get("BOT_DATABASE_SCHEMA", "escalation").strip()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise ConfigError(f"BOT_DATABASE_SCHEMA must be a lower-case name of letters, digits and _ (found {schema!r})")
    key_dir = env.get("BOT_KEY_DIR", "").strip()
    return {"database_url": url, "database_schema": schema, "master_key": env.get("BOT_MASTER_KEY", ""),
            "master_key_file": env.get("BOT_MASTER_KEY_FILE", "").strip(),
            "key_dir": Path(key_dir) if key_dir else None}


def _jobs(env: Mapping[str, str]) -> dict[str, object]:
    target = env.get("BOT_SUMMARY_CHANNEL", "").strip()
    if target and not re.fullmatch(r"(slack|teams|console):\S+", target):
        raise ConfigError(f"BOT_SUMMARY_CHANNEL must be slack:CHANNEL_ID or teams:CONVERSATION_ID (found {target!r})")
    day = env.get("BOT_SUMMARY_DAY", "MON").strip().upper()[:3]
    if day not in WEEKDAYS:
        raise ConfigError(f"BOT_SUMMARY_DAY must be a weekday such as MON (found {day!r})")
    return {"nudge_time": _time(env, "BOT_NUDGE_TIME"),
            "review_days": _whole(env, "BOT_REVIEW_DAYS", "10", 1, 60, "working days"),
            "tick_seconds": _whole(env, "BOT_TICK_SECONDS", "60", 5, 3600, "seconds"),
            "summary_target": target, "summary_weekday": WEEKDAYS.index(day),
            "summary_time": _time(env, "BOT_SUMMARY_TIME")}


def _slack(env: Mapping[str, str]) -> dict[str, object]:
    """Slack over HTTP (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET), over Socket Mode (SLACK_BOT_TOKEN and
    SLACK_APP_TOKEN; no signing secret needed, since no request arrives over HTTP), or off (none of them)."""
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if app_token:
        if not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (it starts with xapp-; made under Basic "
                              "Information, App-Level Tokens, with the connections:write scope)")
        if not token:
            raise ConfigError("SLACK_BOT_TOKEN is missing: Socket Mode (SLACK_APP_TOKEN) needs the bot token too")
    elif bool(token) != bool(secret):
        missing = "SLACK_SIGNING_SECRET" if token else "SLACK_BOT_TOKEN"
        raise ConfigError(f"{missing} is missing: Slack needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or, "
                          "for Socket Mode, SLACK_BOT_TOKEN and SLACK_APP_TOKEN)")
    if token and not token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)")
    api_url = env.get("SLACK_API_URL", "").strip()
    if api_url and not re.match(r"https?://", api_url):
        raise ConfigError(f"SLACK_API_URL must be an http(s) URL (found {api_url!r})")
    channel = env.get("SLACK_CASES_CHANNEL", "").strip()
    if channel and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
        raise ConfigError(f"SLACK_CASES_CHANNEL must be a Slack channel id such as C0123ABCD (found {channel!r})")
    return {"slack_token": token, "slack_signing_secret": secret, "slack_app_token": app_token,
            "slack_cases_channel": channel,
            "slack_api_url": api_url if not api_url or api_url.endswith("/") else api_url + "/"}


def _app_type(env: Mapping[str, str]) -> str:
    """MICROSOFT_APP_TYPE in Microsoft's spelling (any case accepted); unset: SingleTenant, since Microsoft registers no
    new multi-tenant bots after 31 July 2025."""
    text = env.get("MICROSOFT_APP_TYPE", "").strip()
    app_type = APP_TYPES.get(text.lower() or "singletenant")
    if app_type is None:
        raise ConfigError(f"MICROSOFT_APP_TYPE must be SingleTenant, UserAssignedMSI or MultiTenant (found {text!r})")
    return app_type


def _microsoft_app(env: Mapping[str, str]) -> dict[str, object]:
    """The bot's Microsoft identity: a wrong combination of app id, type, secret and tenant stops start-up."""
    app_id = env.get("MICROSOFT_APP_ID", "").strip()
    password = env.get("MICROSOFT_APP_PASSWORD", "").strip()
    tenant = env.get("MICROSOFT_APP_TENANT_ID", "").strip()
    app_type = _app_type(env)
    if app_id and not GUID.fullmatch(app_id):
        raise ConfigError("MICROSOFT_APP_ID must be the bot's app id, a GUID like 00000000-0000-0000-0000-000000000000")
    if tenant and not GUID.fullmatch(tenant):
        raise ConfigError("MICROSOFT_APP_TENANT_ID must be your Microsoft Entra tenant id, a GUID like "
                          f"00000000-0000-0000-0000-000000000000 (found {tenant!r})")
    if password and not app_id:
        raise ConfigError("MICROSOFT_APP_ID is missing: MICROSOFT_APP_PASSWORD was set without it")
    if app_id:
        if app_type == "UserAssignedMSI" and password:
            raise ConfigError("MICROSOFT_APP_PASSWORD must be empty when MICROSOFT_APP_TYPE is UserAssignedMSI: a "
                              "managed identity has no secret (MICROSOFT_APP_ID is the identity's client id)")
        if app_type != "UserAssignedMSI" and not password:
            raise ConfigError(f"MICROSOFT_APP_PASSWORD is missing: a {app_type} bot needs its app registration's "
                              "client secret (or, on Azure, MICROSOFT_APP_TYPE=UserAssignedMSI and no secret)")
        if app_type != "MultiTenant" and not tenant:
            default = "" if env.get("MICROSOFT_APP_TYPE", "").strip() else (
                " (the default; a multi-tenant bot registered before 31 July 2025 sets MICROSOFT_APP_TYPE=MultiTenant)")
            raise ConfigError(f"MICROSOFT_APP_TENANT_ID is missing: it is needed when MICROSOFT_APP_TYPE is "
                              f"{app_type}{default}")
        if app_type == "MultiTenant" and tenant:
            raise ConfigError("MICROSOFT_APP_TENANT_ID is set but MICROSOFT_APP_TYPE is MultiTenant, which does not "
                              "use it: for a single-tenant bot set MICROSOFT_APP_TYPE=SingleTenant (or leave it unset)")
    return {"teams_app_id": app_id, "teams_app_password": password, "teams_app_type": app_type,
            "teams_tenant_id": tenant}


def _teams(env: Mapping[str, str]) -> dict[str, object]:
    emulator_text = env.get("BOT_TEAMS_EMULATOR", "").strip().lower()
    if emulator_text not in ("", "0", "1", "false", "true", "no", "yes"):
        raise ConfigError(f"BOT_TEAMS_EMULATOR must be 1 or 0 (found {emulator_text!r})")
    app = _microsoft_app(env)
    teams_channel = env.get("TEAMS_CASES_CHANNEL", "").strip()
    if teams_channel and not re.fullmatch(r"19:\S+@thread\.\S+", teams_channel):
        raise ConfigError("TEAMS_CASES_CHANNEL must be a Teams channel id such as 19:abc123@thread.tacv2 "
                          f"(found {teams_channel!r})")
    login = env.get("MICROSOFT_LOGIN_URL", "").strip()
    if login and not re.match(r"https?://", login):
        raise ConfigError(f"MICROSOFT_LOGIN_URL must be an http(s) URL, or empty for Microsoft's own (found {login!r})")
    return {**app, "teams_cases_channel": teams_channel,
            "teams_emulator": emulator_text in ("1", "true", "yes") and not app["teams_app_id"],
            "teams_login_url": login if not login or login.endswith("/") else login + "/"}


def read_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings, each checked (the first wrong one raises ConfigError naming it)."""
    env = os.environ if env is None else env
    found: dict[str, object] = {}
    for part in (_policies, _server, _database, _jobs, _slack, _teams):
        found.update(part(env))
    return Settings(**found)  # type: ignore[arg-type]

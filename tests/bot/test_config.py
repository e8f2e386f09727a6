"""Settings from the environment: defaults, and a bad setting stops start-up with an error naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, read_settings

REPO = Path(__file__).resolve().parents[2]
POLICY_DIR = REPO / "policies"


def test_defaults() -> None:
    s = read_settings({})
    assert isinstance(s, Settings)
    assert s.port == 3978
    assert s.host == "127.0.0.1"
    assert s.data_dir == Path("data")
    assert s.policy_ids == ()  # every policy in the folder
    assert s.policy_dir.resolve() == POLICY_DIR
    assert s.log_level == "INFO"


def test_values_are_read() -> None:
    s = read_settings(
        {
            "BOT_PORT": "8080",
            "BOT_HOST": "0.0.0.0",
            "BOT_DATA_DIR": "/var/lib/bot",
            "BOT_LOG_LEVEL": "debug",
            "BOT_POLICY": "medway",
            "BOT_POLICY_DIR": str(POLICY_DIR),
        }
    )
    assert s.port == 8080
    assert s.host == "0.0.0.0"
    assert s.data_dir == Path("/var/lib/bot")
    assert s.log_level == "DEBUG"
    assert s.policy_ids == ("medway",)
    assert s.policy_dir == POLICY_DIR


@pytest.mark.parametrize("port", ["1", "65535", " 8080 "])
def test_good_ports(port: str) -> None:
    assert read_settings({"BOT_PORT": port}).port == int(port)


@pytest.mark.parametrize("port", ["abc", "0", "70000", "65536", "-1", "80.5", "", "3978x", "\u00b3"])
def test_bad_port_names_bot_port(port: str) -> None:
    # "\u00b3" (superscript three) is a "digit" to str.isdigit() but not a number int() accepts.
    with pytest.raises(ConfigError, match="BOT_PORT"):
        read_settings({"BOT_PORT": port})


@pytest.mark.parametrize("level", ["LOUD", "verbose", "", "CRITICAL!"])
def test_bad_log_level_names_it(level: str) -> None:
    with pytest.raises(ConfigError, match="BOT_LOG_LEVEL"):
        read_settings({"BOT_LOG_LEVEL": level})


@pytest.mark.parametrize("level", ["DEBUG", "info", "Warning", "ERROR"])
def test_good_log_levels(level: str) -> None:
    assert read_settings({"BOT_LOG_LEVEL": level}).log_level == level.upper()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("surrey, medway", ("surrey", "medway")),
        ("surrey,medway", ("surrey", "medway")),
        (" bcssp ", ("bcssp",)),
        ("Lincolnshire,GLOUCESTERSHIRE", ("lincolnshire", "gloucestershire")),
        ("", ()),
    ],
)
def test_bot_policy_is_parsed(raw: str, expected: tuple[str, ...]) -> None:
    assert read_settings({"BOT_POLICY": raw}).policy_ids == expected


@pytest.mark.parametrize("raw", [",,", ",", " , , "])
def test_bot_policy_without_ids_names_it(raw: str) -> None:
    with pytest.raises(ConfigError, match="BOT_POLICY"):
        read_settings({"BOT_POLICY": raw})


@pytest.mark.parametrize("raw", ["surrey,surrey", "surrey, medway, surrey", "surrey,SURREY"])
def test_bot_policy_duplicates_name_it(raw: str) -> None:
    with pytest.raises(ConfigError, match="BOT_POLICY"):
        read_settings({"BOT_POLICY": raw})


def test_bot_policy_dir_pointing_nowhere_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BOT_POLICY_DIR"):
        read_settings({"BOT_POLICY_DIR": str(tmp_path / "no-such-folder")})


def test_bot_policy_dir_that_is_a_file_names_it(tmp_path: Path) -> None:
    f = tmp_path / "policy.toml"
    f.write_text("")
    with pytest.raises(ConfigError, match="BOT_POLICY_DIR"):
        read_settings({"BOT_POLICY_DIR": str(f)})


def test_empty_host_names_it() -> None:
    with pytest.raises(ConfigError, match="BOT_HOST"):
        read_settings({"BOT_HOST": "  "})


# --- through the command line -----------------------------------------------------------------------------------


def _run(args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_unknown_id_in_bot_policy_stops_policies_with_one_line() -> None:
    r = _run(["policies"], BOT_POLICY="surrey,nowhere")
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert "BOT_POLICY" in lines[0]
    assert "nowhere" in lines[0]


@pytest.mark.parametrize(
    ("name", "value"),
    [("BOT_PORT", "abc"), ("BOT_LOG_LEVEL", "LOUD"), ("BOT_POLICY", ",,"), ("BOT_POLICY_DIR", "/no/such/dir")],
)
def test_bad_setting_stops_the_cli_with_one_line_naming_it(name: str, value: str) -> None:
    r = _run(["policies"], **{name: value})
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert name in lines[0]


# --- the bot's Microsoft identity (Teams) -------------------------------------------------------------------------

APP_ID = "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
TENANT_ID = "50612dbb-0237-4969-b378-8d42590f9c00"
SECRET = "Zx8Q~not-a-real-client-secret"
SINGLE = {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": SECRET, "MICROSOFT_APP_TENANT_ID": TENANT_ID}


def test_single_tenant_is_the_default_app_type() -> None:
    s = read_settings(SINGLE)
    assert (s.teams_app_id, s.teams_app_type, s.teams_tenant_id, s.teams_app_password) == (
        APP_ID, "SingleTenant", TENANT_ID, SECRET)
    assert SECRET not in repr(s)
    assert read_settings({}).teams_app_type == "SingleTenant"


@pytest.mark.parametrize(("given", "kept"), [("SingleTenant", "SingleTenant"), ("singletenant", "SingleTenant"),
                                             (" UserAssignedMSI ", "UserAssignedMSI"), ("MULTITENANT", "MultiTenant")])
def test_app_types_are_read_in_any_case_and_kept_in_microsofts_spelling(given: str, kept: str) -> None:
    assert read_settings({"MICROSOFT_APP_TYPE": given}).teams_app_type == kept


def test_a_managed_identity_is_its_client_id_and_tenant_with_no_secret() -> None:
    s = read_settings({"MICROSOFT_APP_TYPE": "UserAssignedMSI", "MICROSOFT_APP_ID": APP_ID,
                       "MICROSOFT_APP_TENANT_ID": TENANT_ID})
    assert (s.teams_app_type, s.teams_app_id, s.teams_tenant_id, s.teams_app_password) == (
        "UserAssignedMSI", APP_ID, TENANT_ID, "")


def test_a_multi_tenant_bot_registered_before_the_cut_off_still_starts() -> None:
    s = read_settings({"MICROSOFT_APP_TYPE": "MultiTenant", "MICROSOFT_APP_ID": APP_ID,
                       "MICROSOFT_APP_PASSWORD": SECRET})
    assert (s.teams_app_type, s.teams_tenant_id) == ("MultiTenant", "")


@pytest.mark.parametrize(("env", "says"), [
    ({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": SECRET},
     "MICROSOFT_APP_TENANT_ID is missing: it is needed when MICROSOFT_APP_TYPE is SingleTenant (the default; a "
     "multi-tenant bot registered before 31 July 2025 sets MICROSOFT_APP_TYPE=MultiTenant)"),
    ({**SINGLE, "MICROSOFT_APP_TENANT_ID": "", "MICROSOFT_APP_TYPE": "SingleTenant"},
     "MICROSOFT_APP_TENANT_ID is missing: it is needed when MICROSOFT_APP_TYPE is SingleTenant"),
    ({**SINGLE, "MICROSOFT_APP_PASSWORD": ""}, "MICROSOFT_APP_PASSWORD is missing: a SingleTenant bot needs"),
    ({"MICROSOFT_APP_TYPE": "MultiTenant", "MICROSOFT_APP_ID": APP_ID},
     "MICROSOFT_APP_PASSWORD is missing: a MultiTenant bot needs"),
    ({**SINGLE, "MICROSOFT_APP_TYPE": "UserAssignedMSI"},
     "MICROSOFT_APP_PASSWORD must be empty when MICROSOFT_APP_TYPE is UserAssignedMSI"),
    ({"MICROSOFT_APP_TYPE": "UserAssignedMSI", "MICROSOFT_APP_ID": APP_ID},
     "MICROSOFT_APP_TENANT_ID is missing: it is needed when MICROSOFT_APP_TYPE is UserAssignedMSI"),
    ({**SINGLE, "MICROSOFT_APP_TYPE": "MultiTenant"},
     "MICROSOFT_APP_TENANT_ID is set but MICROSOFT_APP_TYPE is MultiTenant"),
    ({"MICROSOFT_APP_PASSWORD": SECRET}, "MICROSOFT_APP_ID is missing"),
    ({**SINGLE, "MICROSOFT_APP_TYPE": "Federated"}, "MICROSOFT_APP_TYPE must be SingleTenant, UserAssignedMSI or"),
    ({**SINGLE, "MICROSOFT_APP_ID": "my-bot"}, "MICROSOFT_APP_ID must be the bot's app id, a GUID"),
    ({**SINGLE, "MICROSOFT_APP_TENANT_ID": "contoso.onmicrosoft.com"}, "MICROSOFT_APP_TENANT_ID must be your"),
])
def test_a_wrong_microsoft_app_combination_stops_start_up_saying_what_to_set(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as stopped:
        read_settings(env)
    assert str(stopped.value).startswith(says)
    assert "\n" not in str(stopped.value) and SECRET not in str(stopped.value)


def test_without_an_app_id_no_type_tenant_or_secret_is_needed() -> None:
    """Local trials (BOT_TEAMS_EMULATOR=1) and a Slack-only bot: the type is read but nothing else is asked for."""
    for app_type in ("SingleTenant", "UserAssignedMSI", "MultiTenant"):
        s = read_settings({"BOT_TEAMS_EMULATOR": "1", "MICROSOFT_APP_TYPE": app_type})
        assert s.teams_emulator and s.teams_app_id == "" and s.teams_app_type == app_type


def test_a_single_tenant_bot_without_its_tenant_stops_the_cli_with_one_line() -> None:
    r = _run(["policies"], MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD=SECRET, MICROSOFT_APP_TENANT_ID="",
             MICROSOFT_APP_TYPE="")
    assert r.returncode == 2
    assert r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert "MICROSOFT_APP_TENANT_ID is missing" in line and "MICROSOFT_APP_TYPE=MultiTenant" in line
    assert SECRET not in line


# --- Slack: over HTTP, or over Socket Mode ------------------------------------------------------------------------

BOT_TOKEN = "xoxb-1-not-a-real-bot-token"
APP_TOKEN = "xapp-1-A111-not-a-real-app-token"


def test_socket_mode_needs_the_bot_and_app_tokens_and_no_signing_secret() -> None:
    s = read_settings({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN})
    assert s.slack_enabled and s.slack_socket_mode and s.slack_signing_secret == ""
    assert APP_TOKEN not in repr(s) and BOT_TOKEN not in repr(s)


def test_http_mode_is_unchanged_without_an_app_token() -> None:
    s = read_settings({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "a-signing-secret"})
    assert s.slack_enabled and not s.slack_socket_mode
    assert not read_settings({}).slack_enabled and not read_settings({}).slack_socket_mode


@pytest.mark.parametrize(("env", "says"), [
    ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-2-a-bot-token-by-mistake"},
     "SLACK_APP_TOKEN must be an app-level token (it starts with xapp-"),
    ({"SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_BOT_TOKEN is missing: Socket Mode (SLACK_APP_TOKEN) needs the bot token"),
    ({"SLACK_BOT_TOKEN": "xapp-1-the-app-token-by-mistake", "SLACK_APP_TOKEN": APP_TOKEN},
     "SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)"),
    ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET is missing: Slack needs both SLACK_BOT_TOKEN and "
     "SLACK_SIGNING_SECRET (or, for Socket Mode, SLACK_BOT_TOKEN and SLACK_APP_TOKEN)"),
])
def test_a_wrong_slack_combination_stops_start_up_saying_what_to_set(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as stopped:
        read_settings(env)
    assert str(stopped.value).startswith(says)
    assert "\n" not in str(stopped.value)
    assert not any(token in str(stopped.value) for token in env.values() if token.startswith(("xoxb-", "xapp-")))


def test_an_app_token_without_its_prefix_stops_serve_with_one_line() -> None:
    wrong = "1-A111-pasted-without-its-prefix"
    r = _run(["serve", "--port", "0"], SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=wrong, SLACK_SIGNING_SECRET="")
    assert r.returncode == 2
    assert r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert "SLACK_APP_TOKEN must be an app-level token" in line and wrong not in line

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

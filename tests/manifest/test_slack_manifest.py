"""The Slack app manifest is valid against Slack's official schema and asks for the minimal scopes."""

import copy
from pathlib import Path

import pytest
import yaml
from schema_check import errors_of, validator_for

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest" / "slack" / "manifest.yaml"
SOCKET_MODE = ROOT / "manifest" / "slack" / "manifest.socket-mode.yaml"
SCHEMA = ROOT / "tests" / "fixtures" / "schemas" / "slack-app-manifest.schema.json"

MINIMAL_BOT_SCOPES = {
    "groups:history",  # (only to find its own message after a post timed out: never posted twice)
    "im:history",
    "channels:history",
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "app_mentions:read",
    "files:write",
}
ROUTE = "/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator():
    return validator_for(SCHEMA)


def test_schema_declares_draft_07(validator):
    assert validator.META_SCHEMA["$schema"].startswith("http://json-schema.org/draft-07/")


def test_manifest_is_valid(manifest, validator):
    errors = errors_of(validator, manifest)
    assert not errors, "manifest.yaml does not match the Slack schema:\n" + "\n".join(errors)


def test_bot_scopes_are_exactly_the_minimal_set(manifest):
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes: the bot acts only as itself"
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == MINIMAL_BOT_SCOPES


def test_every_url_is_the_one_events_route(manifest):
    features, settings = manifest["features"], manifest["settings"]
    urls = [command["url"] for command in features["slash_commands"]]
    urls += [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert len(urls) == 3
    for url in urls:
        assert url.startswith("https://"), url
        assert url.endswith(ROUTE), url


def test_slash_command(manifest):
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/escalate"
    assert command["should_escape"] is False
    assert command["usage_hint"] == ("[status REF | resolve REF | escalate REF | extend REF | record REF | summary "
                                     "| help]")


def test_http_mode_and_only_handled_events(manifest):
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert "user_events" not in settings["event_subscriptions"]


def test_display_information(manifest):
    display = manifest["display_information"]
    assert display["name"] == "Escalation Bot"
    assert "escalation" in display["description"]
    bot_user = manifest["features"]["bot_user"]
    assert bot_user == {"display_name": "escalation-bot", "always_online": True}


def _without_name(doc):
    del doc["display_information"]["name"]


def _socket_mode_as_string(doc):
    doc["settings"]["socket_mode_enabled"] = "false"


def _command_without_slash(doc):
    doc["features"]["slash_commands"][0]["command"] = "escalate"


def _unknown_top_level_key(doc):
    doc["scopes"] = ["commands"]


@pytest.mark.parametrize(
    ("break_it", "where"),
    [
        (_without_name, "display_information"),
        (_socket_mode_as_string, "settings/socket_mode_enabled"),
        (_command_without_slash, "features/slash_commands/0/command"),
        (_unknown_top_level_key, "(root)"),
    ],
)
def test_broken_manifest_fails_validation(manifest, validator, break_it, where):
    broken = copy.deepcopy(manifest)
    break_it(broken)
    errors = errors_of(validator, broken)
    assert errors
    assert any(error.startswith(f"{where}:") for error in errors), errors


# --- the Socket Mode variant -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def socket_manifest() -> dict:
    return yaml.safe_load(SOCKET_MODE.read_text(encoding="utf-8"))


def test_socket_mode_manifest_is_valid(socket_manifest, validator):
    errors = errors_of(validator, socket_manifest)
    assert not errors, "manifest.socket-mode.yaml does not match the Slack schema:\n" + "\n".join(errors)


def test_socket_mode_manifest_is_the_same_app_without_request_urls(manifest, socket_manifest):
    assert socket_manifest["settings"]["socket_mode_enabled"] is True
    assert "YOUR-HOST" not in SOCKET_MODE.read_text(encoding="utf-8")
    http = copy.deepcopy(manifest)
    for command in http["features"]["slash_commands"]:
        del command["url"]
    del http["settings"]["event_subscriptions"]["request_url"]
    del http["settings"]["interactivity"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket_manifest == http

"""The Teams app manifest is valid against Microsoft's official schema; icons and package are what Teams needs."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from schema_check import errors_of, validator_for

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "manifest" / "teams"
SCHEMA = ROOT / "tests" / "fixtures" / "schemas" / "MicrosoftTeams.schema.v1.19.json"
COMMANDS = ["escalate", "status", "summary", "help"]


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator():
    return validator_for(SCHEMA)


def test_schema_is_the_official_draft_04_one(validator):
    assert validator.META_SCHEMA["$schema"].startswith("http://json-schema.org/draft-04/")


def test_manifest_is_valid(manifest, validator):
    errors = errors_of(validator, manifest)
    assert not errors, "manifest.json does not match the Teams schema:\n" + "\n".join(errors)
    assert manifest["manifestVersion"] == "1.19" and manifest["$schema"].endswith("/v1.19/MicrosoftTeams.schema.json")


def test_the_validator_catches_a_broken_manifest(manifest, validator):
    broken = json.loads(json.dumps(manifest))
    broken["bots"][0]["scopes"] = ["personal", "channel"]
    del broken["developer"]["privacyUrl"]
    assert len(errors_of(validator, broken)) >= 2


def test_bot_scopes_and_commands(manifest):
    (bot,) = manifest["bots"]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert bot["isNotificationOnly"] is False
    for command_list in bot["commandLists"]:
        assert [c["title"] for c in command_list["commands"]] == COMMANDS
    covered = {scope for command_list in bot["commandLists"] for scope in command_list["scopes"]}
    assert covered == set(bot["scopes"])


def test_icons_are_the_sizes_teams_requires(manifest):
    color = Image.open(HERE / manifest["icons"]["color"])
    outline = Image.open(HERE / manifest["icons"]["outline"])
    assert color.format == "PNG" and color.size == (192, 192)
    assert outline.format == "PNG" and outline.size == (32, 32)
    # The outline icon is white on a transparent background, nothing else.
    pixels = {color for _count, color in outline.convert("RGBA").getcolors(maxcolors=32 * 32)}
    assert (0, 0, 0, 0) in pixels and (255, 255, 255, 255) in pixels
    assert all(p[3] == 0 or p[:3] == (255, 255, 255) for p in pixels)


def test_the_package_has_the_manifest_and_both_icons_at_its_root(tmp_path, manifest, validator):
    import importlib.util

    spec = importlib.util.spec_from_file_location("teams_package", HERE / "package.py")
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    app_id = "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
    out = package.build(tmp_path / "escalation-bot-teams.zip", app_id=app_id)
    with zipfile.ZipFile(out) as built:
        assert sorted(built.namelist()) == ["color.png", "manifest.json", "outline.png"]
        packed = json.loads(built.read("manifest.json"))
        assert Image.open(io.BytesIO(built.read("color.png"))).size == (192, 192)
    assert packed["bots"][0]["botId"] == app_id and not errors_of(validator, packed)
    with pytest.raises(ValueError, match="GUID"):
        package.build(tmp_path / "bad.zip", app_id="not-a-guid")

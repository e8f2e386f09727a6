"""Hostile or malformed input over HTTP: deep nesting, markup built to make the text cleanup slow, file-consent answers
of the wrong shape or pointing anywhere but OneDrive / SharePoint. Each gets a 4xx or a polite answer, never a 5xx."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from teams_server import TeamsHarness, teams_bot  # noqa: F401
from teams_support import JORDAN, new_id, personal_message

from adapters.teams.files import upload_allowed
from adapters.teams.turn import MAX_TEXT, plain_text

UNUSABLE = "could not be used, so nothing was sent"


def nested(depth: int, leaf: str = "1") -> bytes:
    return b'{"a":' * depth + leaf.encode() + b"}" * depth


def with_field(bot: TeamsHarness, field: str, raw: bytes) -> bytes:
    """A valid personal message whose `field` is the raw JSON given."""
    body = json.dumps(personal_message(JORDAN, "help", bot.connector)).encode()
    return body[:-1] + b', "' + field.encode() + b'": ' + raw + b"}"


async def test_deeply_nested_json_gets_400_and_runs_nothing(teams_bot: TeamsHarness):
    bodies = {
        "arrays, nested past the parser's limit": b"[" * 100_000 + b"]" * 100_000,
        "objects, nested past the parser's limit": nested(40_000),
        "channelData nested past the parser's limit": with_field(teams_bot, "channelData",
                                                                 b"[" * 50_000 + b"]" * 50_000),
        "a card value nested 900 deep": with_field(teams_bot, "value",
                                                   b'{"_form": "start", "x": ' + nested(900) + b"}"),
        "channelData nested 100 deep": with_field(teams_bot, "channelData", nested(100)),
    }
    statuses = {what: (await teams_bot.post(raw=raw))[0] for what, raw in bodies.items()}
    assert statuses == {what: 400 for what in bodies}
    assert teams_bot.fake.calls == [] and await teams_bot.store.scan("events") == []


async def test_ordinary_nesting_in_a_card_value_is_still_answered(teams_bot: TeamsHarness):
    card = b'{"_form": "start", "x": ' + nested(20) + b"}"
    status, _ = await teams_bot.post(raw=with_field(teams_bot, "value", card))
    assert status == 200
    assert teams_bot.fake.calls and "Please answer yes or no" in teams_bot.fake.calls[-1].text  # the start card back


# Each is 250,000 characters, shaped so that a cleanup rescanning the rest of the text from every "<" takes minutes
# (and one that only cut the text to MAX_TEXT first, seconds): these finish at once only if the cleanup is linear.
ADVERSARIAL = {
    "repeated <at>": "<at>" * 62_500,
    "repeated <": "<" * 250_000,
    "an unclosed mention": "<at>" + "x" * 249_996,
    "repeated <at with no >": "<at " * 62_500,
    "repeated <at>x": "<at>x" * 50_000,
}


@pytest.mark.parametrize("shape", list(ADVERSARIAL))
def test_the_text_cleanup_reads_a_huge_adversarial_message_once_and_no_further_than_teams_limit(shape):
    text = ADVERSARIAL[shape]
    assert len(text) == 250_000
    cleaned = plain_text(text)
    assert len(cleaned) <= MAX_TEXT
    assert plain_text(text[:MAX_TEXT]) == cleaned  # nothing past Teams' own limit is read


def test_the_text_cleanup_still_removes_mentions_and_markup():
    assert plain_text("<at>Escalation bot</at> status ESC-2026-0001") == "status ESC-2026-0001"
    assert plain_text('<p><at id="0">Escalation bot</at>&nbsp;summary <b>2026-W47</b></p>') == "summary 2026-W47"
    assert plain_text("<AT>Escalation bot</AT>\nhelp") == "help"
    assert plain_text("a &lt;b&gt; c") == "a <b> c"
    assert plain_text("<at>Bot</at><at>Other person</at> escalate") == "escalate"


async def test_a_huge_adversarial_message_is_answered_over_http(teams_bot: TeamsHarness):
    message = personal_message(JORDAN, "<at>" * 62_500, teams_bot.connector)
    message["attachments"] = []
    (answer,) = await teams_bot.deliver(message)  # nothing is left once the markup is removed: the help text
    assert "status REF" in answer.text


def consent(bot: TeamsHarness, value: Any) -> dict[str, Any]:
    activity = personal_message(JORDAN, "", bot.connector)
    activity.pop("text")
    activity.update(type="invoke", name="fileConsent/invoke", id=new_id(), value=value)
    return activity


def accepted(bot: TeamsHarness, ref: str, url: str) -> dict[str, Any]:
    return consent(bot, {"type": "fileUpload", "action": "accept", "context": {"ref": ref},
                         "uploadInfo": {"name": "r.docx", "uploadUrl": url, "contentUrl": "https://x/r.docx"}})


async def test_a_malformed_file_consent_answer_gets_200_and_a_plain_refusal(teams_bot: TeamsHarness, caplog):
    case = await teams_bot.open_case()
    upload = f"{teams_bot.connector}upload/r.docx"
    values = [
        {"action": "accept", "context": "x"},
        {"action": "accept", "context": ["x"]},
        {"action": "accept", "context": {"ref": ["x"]}},
        {"action": "accept", "context": {"ref": case["ref"]}, "uploadInfo": "x"},
        {"action": "accept", "context": {"ref": case["ref"]}, "uploadInfo": ["x"]},
        {"action": "accept", "context": {"ref": case["ref"]}, "uploadInfo": {"uploadUrl": ["x"]}},
        {"action": "maybe", "context": {"ref": case["ref"]}, "uploadInfo": {"uploadUrl": upload}},
        "accept",
    ]
    before, audit = teams_bot.snapshot(), await teams_bot.store.scan("audit_log")
    caplog.set_level(logging.INFO)
    for value in values:
        status, body = await teams_bot.post(consent(teams_bot, value))
        assert (status, body) == (200, "{}")
        assert UNUSABLE in teams_bot.fake.calls[-1].text
    assert not teams_bot.fake.uploads
    assert teams_bot.snapshot() == before and await teams_bot.store.scan("audit_log") == audit
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_record_is_uploaded_only_to_onedrive_or_sharepoint_over_https(teams_bot: TeamsHarness):
    case = await teams_bot.open_case()
    fake = f"{teams_bot.connector}upload/r.docx"  # the fake upload server, the one test-only exception
    refused = [
        fake.replace("/upload/", "/elsewhere/"),
        "http://contoso-my.sharepoint.com/personal/r.docx",
        "https://contoso-my.sharepoint.com.evil.example/r.docx",
        "https://evil.example/contoso-my.sharepoint.com/r.docx",
        "https://contoso-my.sharepoint.com@evil.example/r.docx",
        "https://contoso-my.sharepoint.com:8443/r.docx",
        "https://sharepoint.com/r.docx",
        "https://onedrive.live.com.evil.example/r.docx",
        "file:///etc/passwd",
        "not a url",
    ]
    for url in refused:
        assert not upload_allowed(url, (f"{teams_bot.connector}upload/",)), url
        await teams_bot.deliver(accepted(teams_bot, case["ref"], url))
        assert UNUSABLE in teams_bot.fake.calls[-1].text
    assert not teams_bot.fake.uploads
    await teams_bot.deliver(accepted(teams_bot, case["ref"], fake))
    assert list(teams_bot.fake.uploads) == ["r.docx"]


@pytest.mark.parametrize("url", [
    "https://contoso-my.sharepoint.com/personal/jordan/Documents/r.docx",
    "https://contoso-my.sharepoint.us/personal/r.docx",
    "https://contoso.sharepoint-df.com/r.docx",
    "https://onedrive.live.com/upload?cid=1",
    "https://api.files.1drv.com/rup/abc",
    "https://CONTOSO-MY.SharePoint.com:443/r.docx",
])
def test_the_upload_hosts_teams_uses_are_allowed_without_any_test_origin(url):
    assert upload_allowed(url)

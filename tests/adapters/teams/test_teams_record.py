"""The written record in Teams: a file-consent card in the personal chat, the upload on accept, refusals."""

from __future__ import annotations

from teams_server import TeamsHarness, no_child_identifiers, teams_bot  # noqa: F401
from teams_support import BEN, JORDAN, new_id, personal_chat, personal_message

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"


def consent_invoke(teams_bot: TeamsHarness, user: tuple[str, str], ref: str, action: str = "accept") -> dict:
    activity = personal_message(user, "", teams_bot.connector)
    activity.pop("text", None)
    activity.update(type="invoke", name="fileConsent/invoke", id=new_id(), value={
        "type": "fileUpload", "action": action, "context": {"ref": ref},
        "uploadInfo": {"name": f"{ref}-record.docx",
                       "uploadUrl": f"{teams_bot.connector.rstrip('/')}/upload/{ref}.docx",
                       "contentUrl": f"https://files.example/{ref}.docx", "uniqueId": "u-1", "fileType": "docx"},
    })
    return activity


async def test_record_is_offered_privately_then_uploaded_on_accept(teams_bot: TeamsHarness):
    case = await teams_bot.open_case()
    (offer,) = await teams_bot.say(JORDAN, f"record {case['ref']}")
    assert offer.conversation == personal_chat(JORDAN)
    (card,) = offer.body["attachments"]
    assert card["contentType"] == CONSENT and card["content"]["acceptContext"] == {"ref": case["ref"]}
    assert card["content"]["sizeInBytes"] > 0 and not teams_bot.fake.uploads  # no file before consent
    calls = await teams_bot.deliver(consent_invoke(teams_bot, JORDAN, case["ref"]))
    (uploaded,) = teams_bot.fake.uploads.values()
    assert uploaded.startswith(b"PK")  # the .docx
    (shown,) = [c for c in calls if c.body.get("attachments")]
    assert shown.body["attachments"][0]["contentType"] == INFO and shown.conversation == personal_chat(JORDAN)
    no_child_identifiers(teams_bot.fake)  # the file went to the upload URL, never into a message


async def test_record_is_refused_to_people_not_on_the_case_even_with_a_forged_accept(teams_bot: TeamsHarness):
    case = await teams_bot.open_case()
    (refused,) = await teams_bot.say(BEN, f"record {case['ref']}")
    assert "cannot find a case" in refused.text
    assert CONSENT not in [a.get("contentType") for a in refused.body.get("attachments") or []]
    await teams_bot.deliver(consent_invoke(teams_bot, BEN, case["ref"]))
    assert not teams_bot.fake.uploads
    await teams_bot.deliver(consent_invoke(teams_bot, JORDAN, case["ref"], action="decline"))
    assert not teams_bot.fake.uploads

"""Written records to a person in Teams: a file-consent card in the personal chat, then upload on accept.

Teams bots send files only with the user's consent (FileConsentCard): the card carries no file; when the person
accepts, Teams gives an upload URL, the bot checks again that they may have the record, renders it, uploads it there
and shows a file card. Nothing is ever posted to a channel, and the bytes are not kept between the two steps.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from botbuilder.schema import Activity, ActivityTypes, Attachment

from adapters.teams.turn import Turn
from bot.engine import Engine
from bot.types import Reply

log = logging.getLogger(__name__)
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"
INVOKE = "fileConsent/invoke"


def consent_activity(reply: Reply) -> Activity:
    """Asks the person to accept the record's file (in the personal chat)."""
    assert reply.attachment is not None
    content = {"description": f"The written record of {reply.case_ref}: keep it on the child's record.",
               "sizeInBytes": len(reply.attachment.data),
               "acceptContext": {"ref": reply.case_ref}, "declineContext": {"ref": reply.case_ref}}
    return Activity(type=ActivityTypes.message, text="Accept to receive the written record privately.",
                    attachments=[Attachment(content_type=CONSENT, name=reply.attachment.name, content=content)])


async def on_consent(turn: Turn, engine: Engine) -> None:
    """The person accepted (upload, then show the file) or declined the file."""
    value: dict[str, Any] = turn.activity.value if isinstance(turn.activity.value, dict) else {}
    context = value.get("context") or {}
    if value.get("action") != "accept":
        await turn.say("All right: the record was not sent.")
        return
    reply = await engine.record(turn.user, str(context.get("ref", "")))
    upload = value.get("uploadInfo") or {}
    if reply.attachment is None or not upload.get("uploadUrl"):
        await turn.say(reply.text if reply.attachment is None else "Teams gave no place to upload the file.")
        return
    data = reply.attachment.data
    headers = {"Content-Length": str(len(data)), "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session, session.put(
            str(upload["uploadUrl"]), data=data, headers=headers
        ) as response:
            response.raise_for_status()
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("teams: record upload failed (%s)", type(exc).__name__)
        await turn.say("Sorry, the file could not be uploaded. Type record again to retry.")
        return
    info = Attachment(content_type=INFO, name=str(upload.get("name", reply.attachment.name)),
                      content_url=str(upload.get("contentUrl", "")),
                      content={"uniqueId": upload.get("uniqueId"), "fileType": upload.get("fileType")})
    await turn.say(Activity(type=ActivityTypes.message, attachments=[info],
                            text="Here is your copy of the written record. Keep it on the child's record."))

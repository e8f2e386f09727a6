"""Written records to a person in Teams: a file-consent card in the personal chat, then upload on accept.

Teams bots send files only with the user's consent (FileConsentCard): the card carries no file; when the person
accepts, Teams gives an upload URL, the bot checks again that they may have the record, renders it, uploads it there
and shows a file card. Nothing is ever posted to a channel, and the bytes are not kept between the two steps. The
upload goes only to an https URL on a host Teams uses for these uploads (OneDrive / SharePoint, `UPLOAD_HOSTS`), never
following a redirect; a consent answer of any other shape is refused politely and changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from botbuilder.schema import Activity, ActivityTypes, Attachment

from adapters.teams.turn import Turn
from bot.door import Door, Event, Kind, Reply

log = logging.getLogger(__name__)
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"
INVOKE = "fileConsent/invoke"
# Where Teams asks a bot to upload a consented file: the person's OneDrive (for work: SharePoint; for GCC and
# Microsoft's own test rings: sharepoint.us and sharepoint-df.com; for personal accounts: OneDrive).
UPLOAD_HOSTS = ("*.sharepoint.com", "*.sharepoint.us", "*.sharepoint-df.com", "onedrive.live.com", "*.files.1drv.com")
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
UNUSABLE = "Sorry, Teams' answer to the file card could not be used, so nothing was sent. Type record REF to try again."


def consent_activity(reply: Reply) -> Activity:
    """Asks the person to accept the record's file (in the personal chat)."""
    assert reply.attachment is not None
    content = {"description": f"The written record of {reply.case_ref}: keep it on the child's record.",
               "sizeInBytes": len(reply.attachment.data),
               "acceptContext": {"ref": reply.case_ref}, "declineContext": {"ref": reply.case_ref}}
    return Activity(type=ActivityTypes.message, text="Accept to receive the written record privately.",
                    attachments=[Attachment(content_type=CONSENT, name=reply.attachment.name, content=content)])


def upload_allowed(url: str, origins: Sequence[str] = ()) -> bool:
    """Whether `url` is https on a OneDrive / SharePoint host (UPLOAD_HOSTS), or starts with one of `origins`
    ("scheme://host:port/", exactly: only tests give any, for their fake upload server)."""
    if any(url.startswith(origin) for origin in origins if origin.endswith("/")):
        return True
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or parts.username is not None or port not in (None, 443) or not HOST.match(host):
        return False
    return any(host == h if not h.startswith("*.") else host.endswith(h[1:]) for h in UPLOAD_HOSTS)


class Consent:
    """Answers to file-consent cards. `test_origins`: upload URL prefixes allowed besides UPLOAD_HOSTS, set only by
    tests (to their fake upload server); empty in the running bot."""

    def __init__(self, test_origins: Sequence[str] = ()) -> None:
        self.test_origins = tuple(test_origins)

    async def answered(self, turn: Turn, door: Door) -> None:
        """The person accepted (upload, then show the file) or declined the file; any other answer, or an upload URL
        that is not allowed, is refused before the record is even made."""
        value = turn.activity.value if isinstance(turn.activity.value, dict) else {}
        action, context = value.get("action"), value.get("context")
        upload: dict[str, Any] = value["uploadInfo"] if isinstance(value.get("uploadInfo"), dict) else {}
        if action == "decline":
            await turn.say("All right: the record was not sent.")
            return
        if action != "accept" or not isinstance(context, dict) or not isinstance(context.get("ref"), str):
            log.info("teams: a file-consent answer of an unknown shape was refused")
            await turn.say(UNUSABLE)
            return
        url = upload.get("uploadUrl")
        if not isinstance(url, str) or not upload_allowed(url, self.test_origins):
            if isinstance(url, str):  # (if Teams ever uploads elsewhere, UPLOAD_HOSTS needs that host)
                log.warning("teams: refused to upload a record to %.100r (not a OneDrive or SharePoint host)",
                            _host(url))
            else:
                log.info("teams: a file-consent answer of an unknown shape was refused")
            await turn.say(UNUSABLE)
            return
        # (who may have it is checked again, and the download written to the audit log)
        replies = await door.handle(Event(turn.user, turn.thread, text=f"record {context['ref']}"))
        reply = next((r for r in replies if r.kind == Kind.RECORD and r.attachment is not None), None)
        if reply is None or reply.attachment is None:
            await turn.say(replies[0].text if replies else UNUSABLE)
            return
        data = reply.attachment.data
        headers = {"Content-Length": str(len(data)), "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session, session.put(
                url, data=data, headers=headers, allow_redirects=False
            ) as response:
                response.raise_for_status()
                if response.status >= 300:
                    raise aiohttp.ClientError(f"HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("teams: record upload failed (%s)", type(exc).__name__)
            await turn.say("Sorry, the file could not be uploaded. Type record again to retry.")
            return
        shown = {"uniqueId": _text(upload.get("uniqueId")), "fileType": _text(upload.get("fileType"))}
        info = Attachment(content_type=INFO, name=_text(upload.get("name")) or reply.attachment.name,
                          content_url=_text(upload.get("contentUrl")), content=shown)
        await turn.say(Activity(type=ActivityTypes.message, attachments=[info],
                                text="Here is your copy of the written record. Keep it on the child's record."))


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""

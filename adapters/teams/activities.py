"""botbuilder Activities from our replies and cards, and Bot Connector errors in plain words."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from azure.core.exceptions import DeserializationError
from botbuilder.schema import Activity, ActivityTypes, Attachment, ChannelAccount, Mention
from msrest.exceptions import ClientRequestError, HttpOperationError
from msrest.exceptions import DeserializationError as OldDeserializationError

from adapters.teams import cards
from bot.door import Reply, SendError

CARD = "application/vnd.microsoft.card.adaptive"
PLAIN_WORDS = {
    401: "Teams refused the bot's credentials (check MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD)",
    403: "the bot is not in that conversation (it was removed, or the app is not installed there)",
    404: "the conversation or message was not found in Teams",
    412: "Teams would not change that message (it was changed meanwhile)",
    413: "the message was too large for Teams",
    429: "Teams is limiting how fast the bot can post; it will try again shortly",
}


def summary_of(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first if len(first) <= 200 else first[:199] + "…"


def text_activity(text: str, mentions: Sequence[tuple[str, str]] = ()) -> Activity:
    """A plain message; mentions as `<at>Name</at>` in the text plus a mention entity each."""
    head = " ".join(f"<at>{name}</at>" for _, name in mentions)
    entities = [Mention(mentioned=ChannelAccount(id=uid, name=name), text=f"<at>{name}</at>", type="mention")
                for uid, name in mentions]
    return Activity(type=ActivityTypes.message, text=f"{head} {text}" if head else text,
                    entities=entities or None, text_format="markdown")


def card_activity(content: Mapping[str, Any], summary: str = "", activity_id: str | None = None) -> Activity:
    return Activity(type=ActivityTypes.message, id=activity_id, summary=summary_of(summary) or None,
                    attachments=[Attachment(content_type=CARD, content=dict(content))])


def reply_activity(reply: Reply, mentions: Sequence[tuple[str, str]] = ()) -> Activity:
    """A one-line reply as text; anything with several lines, buttons or mentions as a card; an image (the
    summary's chart) inline beside it. Private files are never put in an activity here."""
    if reply.attachment is not None and not reply.private and reply.attachment.mime.startswith("image/"):
        activity = card_activity(cards.message_card(reply, mentions), reply.text)
        data = base64.b64encode(reply.attachment.data).decode("ascii")
        activity.attachments.append(Attachment(content_type=reply.attachment.mime, name=reply.attachment.name,
                                               content_url=f"data:{reply.attachment.mime};base64,{data}"))
        return activity
    if "\n" not in reply.text.strip() and not reply.actions and not mentions:
        return text_activity(reply.text)
    return card_activity(cards.message_card(reply, mentions), reply.text)


def connector_problem(exc: BaseException) -> str | None:
    """A sentence for a Bot Connector failure, or None if `exc` is not one (a bug: let it surface)."""
    if isinstance(exc, HttpOperationError):
        response = getattr(exc, "response", None)
        code = int(getattr(response, "status_code", 0) or 0)
        return PLAIN_WORDS.get(code, f"Teams refused the request (HTTP {code})")
    if isinstance(exc, ClientRequestError | ConnectionError | TimeoutError | OSError):
        return "the Bot Connector service could not be reached"
    if isinstance(exc, DeserializationError | OldDeserializationError):  # (an error page from a proxy, ...)
        return "the Bot Connector service answered with something that is not its own answer"
    return None


def http_status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    return int(getattr(response, "status_code", 0) or 0)


def send_error(exc: BaseException) -> SendError | None:
    """A Bot Connector failure as the outbox needs it (None if `exc` is not one: a bug, to surface): in words, with
    how long Teams asked to wait, and whether the message may have arrived (the call timed out)."""
    problem = connector_problem(exc)
    if problem is None:
        return None
    response = getattr(exc, "response", None)
    header = str((getattr(response, "headers", None) or {}).get("Retry-After", "") or "")
    unknown = isinstance(exc, TimeoutError) or "timeout" in f"{type(exc).__name__} {exc}".lower().replace(" ", "")
    return SendError(problem, retry_after=float(header) if header.isdigit() else None, unknown=unknown, channel="teams")

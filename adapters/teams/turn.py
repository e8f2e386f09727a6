"""One incoming activity as our adapter sees it: who, where, and replies that log connector failures."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from adapters.teams.activities import card_activity, connector_problem, http_status, text_activity
from adapters.teams.references import conversation_type
from bot.door import ThreadRef, UserRef

log = logging.getLogger(__name__)
REPLY_SECONDS = 5.0  # a reply within a turn: past this, Teams' request is answered and the reply sent later
MAX_TEXT = 28 * 1024  # Teams' own limit on a message (about 28 KB): anything longer is not something a person typed
# Neither pattern can cross a "<" it did not start with, so a failed match from one "<" stops at the next one and the
# whole text is scanned a bounded number of times (`.*?</at>` and `<[^>]+>` rescanned the rest of the text from every
# "<": a message of repeated "<at>" held the event loop for seconds). A mention's name never holds a raw "<".
MENTION = re.compile(r"<at\b[^<>]*>[^<]*</at\s*>", re.IGNORECASE)
TAG = re.compile(r"<[^<>]*>")


def plain_text(raw: str) -> str:
    """What a person typed: Teams' markup without @mentions or tags, entities decoded, spaces collapsed (at most
    MAX_TEXT characters of it are read)."""
    text = MENTION.sub(" ", raw[:MAX_TEXT])
    return " ".join(html.unescape(TAG.sub(" ", text)).split())


class Turn:
    def __init__(self, context: TurnContext) -> None:
        self.context = context
        self.activity: Activity = context.activity
        sender = self.activity.from_property
        self.user = UserRef("teams", str(getattr(sender, "id", "") or ""), name=str(getattr(sender, "name", "") or ""))
        self.thread = ThreadRef("teams", str(self.activity.conversation.id))
        self.down = False  # Teams did not answer in time: nothing more is sent in this turn

    @property
    def personal(self) -> bool:
        return conversation_type(self.activity) == "personal"

    @property
    def key(self) -> str:
        """This activity, uniquely: Teams message ids are only unique within a conversation."""
        return f"{self.thread.conversation}:{self.activity.id}"

    def text(self) -> str:
        """What the user typed, without @mentions or markup."""
        return plain_text(str(self.activity.text or ""))

    async def say(self, message: str | Activity) -> str | None:
        """Reply in this conversation; returns the new message's id (None if Teams refused or did not answer within
        REPLY_SECONDS, which is logged; after that, this turn tries no more: the request is not held up)."""
        activity = text_activity(message) if isinstance(message, str) else message
        if self.down:
            return None
        try:
            async with asyncio.timeout(REPLY_SECONDS):
                response = await self.context.send_activity(activity)
        except Exception as exc:
            self._failed(exc, "reply")
            return None
        return str(getattr(response, "id", "") or "") or None

    async def replace(self, activity_id: str | None, content: dict[str, Any], summary: str = "") -> bool:
        """Replace a card in this conversation (a form after it is sent, a nudge after someone acted)."""
        if not activity_id or self.down:
            return False
        try:
            async with asyncio.timeout(REPLY_SECONDS):
                await self.context.update_activity(card_activity(content, summary, activity_id))
        except Exception as exc:
            self._failed(exc, "card update")
            return False
        return True

    async def show(self, content: dict[str, Any], summary: str) -> None:
        """A form again (with its problems marked): in place of the submitted one, else as a new message."""
        if not await self.replace(self.activity.reply_to_id, content, summary):
            await self.say(card_activity(content, summary))

    def _failed(self, exc: Exception, what: str) -> None:
        if isinstance(exc, TimeoutError):
            self.down = True
            log.warning("teams: %s got no answer within %s s; the rest of this turn goes through the outbox", what,
                        REPLY_SECONDS)
            return
        problem = connector_problem(exc)
        if problem is None:
            raise exc
        log.warning("teams: %s failed: %s (HTTP %s)", what, problem, http_status(exc) or "-")

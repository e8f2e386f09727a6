"""'Download record' in chat: a case's written record as a file for an entitled person, to be sent privately."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.records.audit import log_event
from bot.records.files import RecordError, RecordFile, kinds, render
from bot.types import Kind, Reply, UserRef
from storage.base import Store

if TYPE_CHECKING:
    from bot.cases.desk import CaseDesk


# The channel sends the file only in a private conversation with the person who asked (a Slack DM file upload, a
# Teams personal chat), never to a channel; where the button was pressed it may say only `sent_text(...)`, which
# carries no child identifiers. Who is entitled is who may act on the case (Roles.may_act): anyone else is told
# the case cannot be found, exactly as for any other case command. Each download is written to the audit log.
async def download(desk: CaseDesk, store: Store, user: UserRef, ref: str, kind: str = "record",
                   now: datetime | None = None, fmt: str = "docx") -> RecordFile | Reply:
    """The file for `user`, or a refusal Reply (not entitled or no such case: the same words; no such form)."""
    found = await desk.find(user, ref, doing="record")
    if isinstance(found, Reply):
        return found
    case, policy = found
    now = now or desk.clock.now()
    try:
        record = render(case, policy, kind, fmt, desk.roles.people.directory, now)
    except RecordError:  # (what was typed is never repeated: the choices are named instead)
        return Reply(f"{case['ref']}: there is no such record to send; choose one of {', '.join(kinds(policy))}.",
                     kind=Kind.REFUSED, case_ref=case["ref"])
    await log_event(store, {"at": now.isoformat(), "by": user.key, "action": "record_downloaded",
                            "ref": case["ref"], "policy": policy.id, "detail": f"{record.filename} sent privately"})
    return record


def sent_text(record: RecordFile) -> str:
    """What the bot may say where the button was pressed: no child details, only where the file went."""
    return (f"I have sent you the {record.title} in a private message. Keep it on the child's record; "
            "do not share it here.")

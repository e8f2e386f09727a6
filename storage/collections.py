"""The names of the stored collections, each with the one module that owns it (only that module reads or writes it).

A channel's own state (dedupe markers of its events, welcomes, conversation references) is not here: it lives in
collections of its own, `<channel>_<space>`, behind bot.door.state.ChannelState.
"""

CASES = "cases"  # bot.cases.book: one document per case (bot.cases.case.Case)
OPENINGS = "openings"  # bot.cases.book: an opening's key (a form, a dialog) -> the reference allocated to it
INBOX = "inbox"  # bot.conversation.inbox: forms accepted (acknowledged to the platform) and not yet handled
DIALOGS = "dialogs"  # bot.conversation.engine: a typed dialog in progress, per person and conversation
EVENTS = "events"  # bot.conversation.engine: chat events already handled (so a retry has no second effect)
AGENDA = "agenda"  # bot.jobs.agenda: a date -> the cases with nudges due that day
AGENDA_INDEX = "agenda_index"  # bot.jobs.agenda: the dates with nudges
OUTBOX = "outbox"  # bot.jobs.outbox: every message queued, by key, until delivered (then kept a week)
OUTBOX_DUE = "outbox_due"  # bot.jobs.outbox: the keys of the messages still to deliver, and when next
SUMMARIES = "summaries"  # bot.jobs.weekly: each week's scheduled summary, posted once
DIRECTORY = "directory"  # bot.people.directory: the imported directory of people
AUDIT_LOG = "audit_log"  # bot.records.audit: exports, downloads, audits and purges; never purged
META = "meta"  # small facts about the store itself (e.g. that an index has been built)


def channel_collection(channel: str, space: str) -> str:
    """The collection holding one kind of a channel's own state, e.g. "teams_refs"."""
    return f"{channel}_{space}"

"""The console channel: the whole conversation in a terminal, interactively or from piped standard input."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from bot.door import ChannelInfo, Door, Event, Question, Reply, ThreadRef, UserRef

QUIT_WORDS = {"quit", "exit", ":q"}
RECORDS = "records"  # the console's private folder for written records, inside the data folder (the name
# bot/records/files.py PRIVATE_FOLDER knows: a purge removes a purged case's copies from it)


def private_folder(data_dir: Path) -> Path:
    """`<data>/records`, made (or tightened to) owner-only: written records are OFFICIAL-SENSITIVE and sit beside
    the store, which holds the same details under the same protection; never the current folder, which is often a
    git checkout."""
    folder = (data_dir / RECORDS).resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) != 0o700:
        folder.chmod(0o700)
    return folder


def tracked_by_git(path: Path) -> bool:
    """Whether `path` lies in a git work tree where git would not ignore it (so a careless `git add -A` would take
    it); if git cannot say (no git installed), a path in a work tree counts as tracked."""
    if not any((parent / ".git").exists() for parent in (path, *path.parents)):
        return False
    git = shutil.which("git")
    if git is None:
        return True
    try:  # (no shell; the arguments are this folder's own path)
        found = subprocess.run([git, "-C", str(path.parent), "check-ignore", "-q", str(path)],  # noqa: S603
                               capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return True
    return found.returncode != 0


def render_question(question: Question) -> str:
    lines = [question.prompt]
    if question.kind == "choice":
        lines += [f"  {i}. {o.label}" for i, o in enumerate(question.options, 1)]
        lines.append("  (type the number or the words)")
    elif question.kind == "yes_no":
        lines.append("  (yes or no)")
    elif question.kind == "date":
        lines.append(f"  ({question.date_hint})")  # only what can be valid: never "today" for a new due date
    if question.help and question.kind != "choice":
        lines.append(f"  {question.help}")
    if not question.required:
        lines.append("  (optional: type skip)")
    return "\n".join(lines)


def render(reply: Reply) -> str:
    """A reply as terminal text."""
    parts = [reply.text] if reply.text else []
    if reply.question is not None:
        parts.append(render_question(reply.question))
    for question in reply.form.questions if reply.form is not None else ():
        if question.id in reply.errors:
            parts.append(f"- {question.prompt}: {reply.errors[question.id]}")
    return "\n".join(parts)


class Here:
    """The console channel's sender in a console session: what the core posts into this person's console thread (a
    case's updates and reminders) is printed here; another person's waits for their own session."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def reaches(self, thread: ThreadRef) -> bool:
        return thread.channel == "console" and thread.conversation == self.console.thread.conversation

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "") -> ThreadRef:
        self.console.say(f"[{reply.case_ref}] {render(reply)}" if reply.case_ref else render(reply))
        return thread


class Console:
    """Reads lines, hands each to the core as one user's message, prints the replies (and what the core posts into
    this person's console thread meanwhile, or posted while they were away)."""

    def __init__(self, door: Door, email: str, data_dir: Path, stdin: TextIO = sys.stdin,
                 stdout: TextIO = sys.stdout) -> None:
        self.door = door
        self.data_dir = data_dir  # written records go to its private folder (`private_folder`), made when first used
        self.user = UserRef("console", email, email=email)
        self.thread = ThreadRef("console", email)
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = stdin.isatty()
        door.connect(ChannelInfo("console", roots=False), Here(self))

    def say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.stdout.write(f"bot> {line}\n")
        self.stdout.flush()

    def keep(self, reply: Reply) -> str:
        """The console's private channel is a folder of its own in the data folder: a written record is saved there,
        readable by its owner only, and the person is told where. Never where git would track it."""
        assert reply.attachment is not None
        if not reply.private:
            return f"{reply.text}\n(chart not shown in the console: python -m bot summary --chart FILE.png)"
        try:
            folder = private_folder(self.data_dir)
            path = folder / reply.attachment.name
            if tracked_by_git(path):
                return (f"The written record was not saved: {folder} is inside a git checkout that does not ignore "
                        "it, and the record is OFFICIAL-SENSITIVE. Start the console with --data outside the "
                        "checkout (or one it ignores) and ask again.")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o600)  # (a copy saved before may have been given wider permissions)
                out.write(reply.attachment.data)
        except OSError as exc:
            return f"The written record could not be saved in {self.data_dir / RECORDS}: {exc.strerror or exc}."
        return (f"Saved the written record to {path}\n(in the bot's private records folder, readable by you only; "
                "it stays there until you move it or the case is purged). File it on the child's record, then "
                "delete this copy.")

    async def run(self) -> int:
        names = ", ".join(p.short_name for p in self.door.procedures.values())
        self.say(f"Escalation bot (console) for {self.user.email}. Procedures: {names}.")
        self.say("Type escalate to start, help for help, quit to leave.")
        await self.door.deliver_waiting()  # (updates and reminders posted while this person was away)
        loop = asyncio.get_running_loop()
        waiting = await self.door.waiting(self.user, self.thread)  # questions left unfinished last time
        if waiting is not None:
            self.say(render(waiting))
        sensitive = bool(waiting and waiting.question and waiting.question.sensitive)  # never echo a child detail
        while True:
            if self.interactive:
                self.stdout.write("you> ")
                self.stdout.flush()
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line:
                break
            text = line.rstrip("\n")
            if text.strip().lower() in QUIT_WORDS:
                break
            if not self.interactive:
                self.stdout.write(f"you> {'(withheld)' if sensitive and text.strip() else text}\n")
            sensitive = False
            for reply in await self.door.handle(Event(self.user, self.thread, text=text)):
                self.say(render(reply) if not reply.attachment else self.keep(reply))
                sensitive = bool(reply.question and reply.question.sensitive)
        self.say("Goodbye. Anything you were answering is kept: type escalate next time to carry on.")
        return 0

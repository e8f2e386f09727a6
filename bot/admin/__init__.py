"""Administration of the bot by its operators: what `tick`, `purge`, `directory import`, `hold` and `release` do
(bot.admin.ops), done in whichever process may do it, and the local socket through which a running bot on the
embedded store does it for them (bot.admin.socket).

The embedded store is its owner's alone (a file lock), so a command that changes it cannot open it beside the running
bot. Instead it asks the bot: the bot listens on `<data>/.admin.sock` (a Unix socket only the service account can
reach: the data folder is 0700, the socket 0600, and the bot checks the caller's user id), runs the operation in its
own process with its own store, channels and directory, and answers with what the command prints. So a directory
import is in use at once, a `tick` delivers through the bot's own Slack and Teams connections, and a purge never
deletes what the bot is using behind its back. On PostgreSQL every process opens the store beside the others, so the
command does the operation itself.
"""

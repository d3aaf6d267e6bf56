"""The flask CLI: one module per topic (`bot/cli/<topic>.py`), each a group registered here.

What every command shares lives here too: the error exit (a sentence from prompts/, status 2
unless said otherwise) and finding a branch by name.
"""
from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy import select

from bot.replies import render


def fail(key: str, code: int = 2, **values) -> NoReturn:
    """Say why (prompts key `key`) on stderr and exit with `code`."""
    click.echo(render(key, **values), err=True)
    sys.exit(code)


def branches_named(name: str | None) -> list:
    """The branch called name (exit 2 if there is none), or every branch when name is None."""
    from bot.storage.engine import db
    from bot.storage.models import Branch

    query = select(Branch).order_by(Branch.id)
    if name:
        query = query.where(Branch.name == name)
    found = list(db.session.execute(query).scalars())
    if name and not found:
        fail("calendar.unknown_branch", branch=name)
    return found


def init_app(app) -> None:
    """Register every group on the app's CLI."""
    from bot.cli import (console, demo, digest, dues, exports, floating, housekeeping, intents,
                         meetings, members, notices, platform)

    for command in (members.group, members.branches_group, members.members_group,
                    intents.intent_command, intents.group,
                    platform.fake_wechat_command,
                    platform.chat_command, demo.group, meetings.group, meetings.reminders_group,
                    meetings.report_group, digest.group, dues.group, floating.group,
                    exports.group, housekeeping.group, notices.group, console.group):
        app.cli.add_command(command)

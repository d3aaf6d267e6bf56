"""`flask --app wsgi digest run`: the secretary's daily digest, as of a Beijing time."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from bot import clock
from bot.replies import render

group = AppGroup("digest", help="书记每日提醒。")


@group.command("run")
@click.option("--at", "at_text", default=None, help='"YYYY-MM-DD HH:MM"，北京时间（默认现在）')
@click.option("--branch", default=None, help="只看这个支部")
@click.option("--dry-run", is_flag=True, help="只显示会发什么，不发送。")
def digest_run(at_text, branch, dry_run):
    """Send today's digests that are due (once per secretary and day); print each one."""
    from bot import digest

    if at_text is None:
        now = clock.now()
    else:
        try:
            now = clock.parse_at(at_text)
        except ValueError:
            raise click.UsageError(render("calendar.bad_at", at=at_text)) from None
    results = digest.run(now, dry_run=dry_run, branch_name=branch)
    if not results:
        click.echo(render("cli.digest_none"))
    for item, result in results:
        click.echo(render("cli.digest_head", name=item.recipient.name, branch=item.branch.name,
                          result=result))
        if item.worth_sending:
            click.echo(digest.text_of(item, now) + "\n")

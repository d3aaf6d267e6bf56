"""`flask --app wsgi roster …`: import the roster, print invite codes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from bot import clock
from bot.cli import fail
from bot.replies import render

group = AppGroup("roster", help="花名册：导入党员、打印邀请码。")


@group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
def roster_import(file):
    """Import a CSV or XLSX roster (姓名, 手机号码, 所在党支部, …).

    Exit status: 0 all rows imported; 1 some rows rejected (the rest imported);
    2 the file is not a roster (nothing changed).
    """
    from bot.members.roster import NotARoster, import_file
    from bot.storage.engine import db

    path = Path(file)
    if not path.exists():
        fail("cli.file_missing", file=file)
    try:
        report = import_file(path, clock.now(), current_app.config["COMMITTEE_NAME"])
    except NotARoster as exc:
        fail("cli.import_refused", reason=exc)
    db.session.commit()
    click.echo(render("cli.import_done", created=report.created, updated=report.updated,
                      errors=len(report.errors)))
    for number, reason in report.errors:
        click.echo(render("cli.import_row_error", row=number, reason=reason), err=True)
    if report.not_in_file:
        click.echo(render("cli.import_not_in_file", count=report.not_in_file))
    sys.exit(1 if report.errors else 0)


@group.command("invites")
@click.option("--branch", help="只列出这个党支部的党员。")
@click.option("--json", "as_json", is_flag=True, help="JSON: [{name, branch, code}]。")
def roster_invites(branch, as_json):
    """Print each unbound member's one-time invite code (新的或仍有效的)."""
    from bot.members import store
    from bot.storage.engine import db

    now, ttl = clock.now(), current_app.config["INVITE_TTL_DAYS"]
    rows = []
    for member in store.unbound_members(branch):
        invite = store.invite_code_for(member, now, ttl)
        rows.append({"name": member.name, "branch": member.branch.name, "code": invite.code,
                     "expires": clock.to_beijing(invite.expires_at).strftime("%Y-%m-%d")})
    db.session.commit()
    if as_json:
        click.echo(json.dumps([{k: r[k] for k in ("name", "branch", "code")} for r in rows],
                              ensure_ascii=False))
        return
    if not rows:
        click.echo(render("cli.no_unbound"))
    for r in rows:
        click.echo(render("cli.invite_line", **r))


branches_group = AppGroup("branches", help="党支部：从哪天起在这里记录。")


@branches_group.command("start")
@click.argument("name")
@click.option("--on", "on_text", required=True, help="YYYY-MM-DD：支部开始在这里记录的日期")
def branches_start(name, on_text):
    """Set the day the branch began keeping its records here: nothing before it is planned,
    closed or counted (meetings held before it can be entered with meetings add --held)."""
    from datetime import date

    from bot.cli import branches_named
    from bot.meetings.planning import start_branch
    from bot.storage.engine import db

    try:
        day = date.fromisoformat(on_text)
    except ValueError:
        fail("calendar.bad_on", day=on_text)
    branch = branches_named(name)[0]
    removed = start_branch(branch, day)
    db.session.commit()
    click.echo(render("calendar.started", branch=branch.name, day=day.isoformat(),
                      removed=render("calendar.started_removed", count=removed)
                      if removed else ""))

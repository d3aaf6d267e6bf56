"""`flask --app wsgi roster …`: import the roster, print invite codes; `branches start`;
`members leave` (转出)."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from bot import clock
from bot.cli import branches_named, fail
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
    if report.rejoined:
        click.echo(render("cli.import_rejoined", count=len(report.rejoined),
                          names="、".join(report.rejoined)))
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
    for member in store.unbound_members(clock.to_beijing(now).date(), branch):
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


members_group = AppGroup("members", help="党员：转出（保留以前的记录）。")


@members_group.command("leave")
@click.argument("name")
@click.option("--branch", required=True, help="党支部")
@click.option("--on", "on_text", help="转出日期 YYYY-MM-DD（这天起不再是本支部党员）")
@click.option("--to", "to", default="", help="转往何处（可不填）")
@click.option("--phone", help="同名时用手机号指明是哪一位")
@click.option("--undo", is_flag=True, help="撤销转出登记（登记错了）")
def members_leave(name, branch, on_text, to, phone, undo):
    """Record that a member transferred out of BRANCH (转出) on a day: from it on they are not
    due at meetings, owe no dues, are in no list, notice or reminder, and the bot tells them so;
    what came before stays in every paper. --undo clears it. Logged as the console's changes."""
    from bot.members import changes
    from bot.members import store
    from bot.members.rules import normalise_phone
    from bot.storage.engine import db

    found = store.members_by_name(name, branches_named(branch)[0].name,
                                  normalise_phone(phone) if phone else None)
    if len(found) != 1:
        fail("dues.unknown_member" if not found else "dues.sheet_same_name", name=name)
    member, now = found[0], clock.now()
    if undo:
        done = changes.undo_leave(member, "cli", now)
        db.session.commit()
        click.echo(render("members.leave_undone" if done else "members.leave_not_marked",
                          name=member.name))
        return
    if not on_text:
        fail("members.leave_no_day")
    try:
        day = date.fromisoformat(on_text)
    except ValueError:
        fail("members.leave_bad_day", day=on_text)
    try:
        changes.leave(member, day, to, "cli", now)
    except changes.Refused as exc:
        fail(exc.args[0], **exc.args[1])
    db.session.commit()
    click.echo(render("members.left", name=member.name, day=day.isoformat(),
                      to=render("members.left_to", to=member.left_to) if member.left_to else ""))

"""`flask --app wsgi notices send|list|show|remind`: notices for operators and other tools.

`send` has no confirmation step and prints the notice's id (alone, on stdout); a notice due
now is sent at once, here. `list` and `show` print the figures, with --json in the shape other
tools rely on (bot/notices/store.py: as_json).
"""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from bot import clock
from bot.cli import branches_named, fail
from bot.replies import render

group = AppGroup("notices", help="通知：发送、查看阅读情况、再提醒。")


def _branch(name: str):
    found = branches_named(name)
    if len(found) != 1:
        fail("calendar.unknown_branch", branch=name)
    return found[0]


def _send_due(now) -> None:
    """Send what is due now, here, and say how it went (stderr: stdout holds the id)."""
    from bot.jobs.notices import run_notices

    for notice_id, round_, results in run_notices(now, inline=True):
        sent = sum(1 for r in results.values() if r.startswith("sent"))
        click.echo(render("cli.notice_sent", number=notice_id, sent=sent, total=len(results),
                          round=render(f"cli.notice_round_{round_}")), err=True)


@group.command("send")
@click.option("--branch", "branch_name", required=True, help="党支部名称")
@click.option("--to", "audience", required=True, help="all | committee | floating | group:党小组名")
@click.option("--text", required=True, help="通知内容")
@click.option("--at", "at_text", default=None, help='"YYYY-MM-DD HH:MM"，北京时间（默认现在）')
@click.option("--by", "by_name", default=None, help="发送人姓名（本支部的书记、副书记或支委）")
@click.option("--urgent", is_flag=True, help="紧急通知：休息时间也发送")
def send_command(branch_name, audience, text, at_text, by_name, urgent):
    """Send a notice (no confirmation step); print its id."""
    from bot.members import store as member_store
    from bot.members.rules import may_mark_urgent, may_send_notices
    from bot.notices import rules, sending, store
    from bot.storage.engine import db

    branch = _branch(branch_name)
    if not rules.is_valid_audience(audience, store.groups_of(branch.id)):
        fail("cli.notice_bad_audience", audience=audience,
             groups="、".join(store.groups_of(branch.id)) or render("notice.no_groups"))
    if not text.strip():
        fail("cli.notice_empty")
    sender = None
    if by_name:
        found = member_store.members_by_name(by_name, branch=branch.name)
        if len(found) != 1:
            fail("cli.notice_bad_sender", name=by_name, count=len(found))
        sender = found[0]
        if not may_send_notices(sender.roles) or (urgent and not may_mark_urgent(sender.roles)):
            fail("cli.notice_sender_role", name=by_name)
    now = clock.now()
    wanted = now
    if at_text:
        try:
            wanted = max(clock.parse_at(at_text), now)
        except ValueError:
            raise click.UsageError(render("calendar.bad_at", at=at_text)) from None
    at, moved = sending.send_time(branch, wanted, urgent)
    if not store.audience_members(branch.id, audience, clock.to_beijing(now).date(), sender):
        fail("notice.nobody", audience=store.audience_label(audience))
    notice = store.create(branch, sender, audience, text.strip(), at, urgent, now)
    db.session.commit()
    click.echo(notice.id)
    if moved:
        click.echo(render("cli.notice_moved", when=clock.to_beijing(at).isoformat()), err=True)
    if at <= now:
        _send_due(now)


@group.command("list")
@click.option("--branch", "branch_name", default=None, help="只看这个支部")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出")
def list_command(branch_name, as_json):
    """Notices, newest first, with their figures."""
    from bot.notices import store

    branch_id = _branch(branch_name).id if branch_name else None
    found = [store.status(n) for n in store.listed(branch_id)]
    if as_json:
        click.echo(json.dumps([store.as_json(f) for f in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(render("cli.notices_none"))
    for item in found:
        click.echo(render("cli.notice_line", status=render(f"cli.notice_status.{item.notice.status}"),
                          sent=item.sent, acked=len(item.acknowledged),
                          branch=item.notice.branch.name, **{
                              **store.describe(item.notice), "count": item.recipients}))


@group.command("show")
@click.argument("notice_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON 输出")
def show_command(notice_id, as_json):
    """One notice: who acknowledged, who has not, whose push failed and why."""
    from bot.notices import store
    from bot.storage.engine import db
    from bot.storage.models import Notice

    notice = db.session.get(Notice, notice_id)
    if notice is None:
        fail("cli.notice_missing", number=notice_id)
    found = store.status(notice)
    if as_json:
        click.echo(json.dumps(store.as_json(found), ensure_ascii=False, indent=2))
        return
    click.echo(render("cli.notice_show", text=notice.text, sent=found.sent,
                      delivered=found.delivered, branch=notice.branch.name,
                      by=notice.sender.name if notice.sender else "-",
                      acknowledged="、".join(found.acknowledged) or "-",
                      pending="、".join(found.pending) or "-",
                      failed="、".join(render("notice.failed_name", name=n, reason=r)
                                      for n, r in found.failed) or "-",
                      **{**store.describe(notice), "count": found.recipients}))


@group.command("remind")
@click.argument("notice_id", type=int)
def remind_command(notice_id):
    """Remind those who have not acknowledged (once per notice, outside quiet hours)."""
    from bot.notices import sending
    from bot.storage.engine import db
    from bot.storage.models import Notice

    notice = db.session.get(Notice, notice_id)
    if notice is None:
        fail("cli.notice_missing", number=notice_id)
    now = clock.now()
    outcome = sending.remind(notice, now)
    db.session.commit()
    click.echo(outcome.render())
    if outcome.key == "notice.remind_queued":
        _send_due(now)
    elif outcome.key not in ("notice.remind_later",):
        raise SystemExit(1)

"""`flask --app wsgi meetings …`: plan, add, list and show meetings."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot import clock
from bot.meetings.rules import MEETING_KINDS
from bot.cli import branches_named, fail
from bot.meetings import attendance, compliance
from bot.clock import parse_quarter
from bot.meetings import planning as meetings
from bot.clock import to_beijing
from bot.replies import render
from bot.meetings import rules as meeting_rules
from bot.meetings import calendar
from bot.storage.engine import db
from bot.meetings import store as meeting_store
from bot.storage.models import Meeting, PartyGroup

group = AppGroup("meetings", help="三会一课与主题党日：排会、加会、查看。")


def _month(text: str) -> tuple[int, int]:
    try:
        return clock.parse_month(text)
    except ValueError:
        fail("calendar.bad_month_arg", month=text)


@group.command("plan")
@click.option("--month", "month_text", required=True, help="YYYY-MM")
@click.option("--branch", help="只排这个党支部。")
def plan(month_text, branch):
    """Materialise the month's meetings from each branch's rules (safe to run again)."""
    year, month = _month(month_text)
    if not calendar.coverage(year):
        click.echo(render("calendar.no_coverage", year=year), err=True)
    for found in branches_named(branch):
        try:
            created, existing = meetings.plan_month(found, year, month, clock.now())
        except calendar.RuleError as exc:
            fail("cli.import_refused", reason=exc)
        db.session.commit()
        click.echo(render("calendar.planned", branch=found.name, month=month_text,
                          created=created, existing=existing))


@group.command("add")
@click.option("--branch", required=True)
@click.option("--kind", required=True, help=", ".join(MEETING_KINDS))
@click.option("--at", "at_text", required=True, help='"YYYY-MM-DD HH:MM"，北京时间')
@click.option("--group", "group_name")
@click.option("--place")
@click.option("--topic")
@click.option("--held", is_flag=True,
              help="补录：这次会已经开过（时间须已过去），随后用 meetings mark 登记到会情况。")
def add(branch, kind, at_text, group_name, place, topic, held):
    """Add one meeting; --held enters one already held (补录)."""
    try:
        starts_at = clock.parse_at(at_text)
    except ValueError:
        fail("calendar.bad_at", at=at_text)
    now = clock.now()
    found = branches_named(branch)[0]
    party_group = None
    if group_name:
        party_group = db.session.execute(select(PartyGroup).where(
            PartyGroup.branch_id == found.id, PartyGroup.name == group_name)).scalar_one_or_none()
        if party_group is None:
            fail("calendar.unknown_group", branch=branch, group=group_name)
    try:
        meeting = meetings.add_entered(found, kind, starts_at, now, group=party_group,
                                       place=place, topic=topic, held=held)
    except meetings.AddRefused as exc:
        fail(f"calendar.{exc.args[0]}", **exc.args[1])
    db.session.commit()
    values = {"when": to_beijing(meeting.starts_at).strftime("%Y-%m-%d %H:%M"),
              "kind": MEETING_KINDS[kind], "branch": found.name,
              "group": f" {group_name}" if group_name else ""}
    if held:
        click.echo(render("calendar.added_held", id=meeting.id, **values))
    else:
        click.echo(render("calendar.added", code=meeting.checkin_code, **values))


@group.command("move")
@click.argument("meeting_id", type=int)
@click.option("--at", "at_text", help='新的时间 "YYYY-MM-DD HH:MM"，北京时间')
@click.option("--place", help="新的地点")
@click.option("--topic", help="新的主题")
def move(meeting_id, at_text, place, topic):
    """Move one meeting (time, place or topic); members already told are told of the change."""
    if at_text is None and place is None and topic is None:
        fail("change.nothing")
    starts_at = None
    if at_text is not None:
        try:
            starts_at = clock.parse_at(at_text)
        except ValueError:
            fail("calendar.bad_at", at=at_text)
    meeting = _meeting(meeting_id)
    try:
        told = meetings.move(meeting, clock.now(), starts_at=starts_at, place=place, topic=topic)
    except meetings.ChangeRefused as exc:
        fail(exc.args[0], **exc.args[1])
    db.session.commit()
    click.echo(render("change.moved_cli", meeting=attendance.label(meeting), id=meeting.id,
                      told=told))


@group.command("cancel")
@click.argument("meeting_id", type=int)
@click.option("--reason", help="取消的原因（会告诉已通知的党员）")
def cancel(meeting_id, reason):
    """Cancel one meeting; members already told are told."""
    meeting = _meeting(meeting_id)
    try:
        told = meetings.cancel(meeting, clock.now(), reason=reason)
    except meetings.ChangeRefused as exc:
        fail(exc.args[0], **exc.args[1])
    db.session.commit()
    click.echo(render("change.cancelled_cli", meeting=attendance.label(meeting), id=meeting.id,
                      told=told))


@group.command("list")
@click.option("--month", "month_text", required=True, help="YYYY-MM")
@click.option("--branch")
@click.option("--json", "as_json", is_flag=True)
def list_(month_text, branch, as_json):
    """The month's meetings (id, kind, branch, group, starts_at, place, topic, checkin_code)."""
    start, end = clock.month_bounds(*_month(month_text))
    branch_id = branches_named(branch)[0].id if branch else None
    rows = [meetings.as_json(m) for m in meetings.store.in_range(start, end, branch_id)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['id']}\t{row['starts_at'][:16].replace('T', ' ')}\t"
                   f"{MEETING_KINDS[row['kind']]}\t{row['branch']}"
                   f"{' ' + row['group'] if row['group'] else ''}\t{row['checkin_code']}")


@group.command("show")
@click.argument("meeting_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show(meeting_id, as_json):
    """One meeting with every member due: rsvp, attendance, leave reason."""
    data = meetings.show_json(_meeting(meeting_id))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        fail("calendar.no_meeting", id=meeting_id)
    return meeting


@group.command("mark")
@click.argument("meeting_id", type=int)
@click.option("--member", "name", required=True, help="姓名")
@click.option("--status", required=True, help=", ".join(meeting_rules.STATUS_LABELS))
@click.option("--reason", default="", help="补登原因（必填）")
@click.option("--by", default="cli", show_default=True, help="谁补登的（记入留痕）")
def mark(meeting_id, name, status, reason, by):
    """补登: set one member's attendance by hand, with a reason (kept in the audit trail)."""
    meeting = _meeting(meeting_id)
    if status not in meeting_rules.STATUS_LABELS:
        fail("attendance.bad_status", statuses=", ".join(meeting_rules.STATUS_LABELS))
    if not reason.strip():
        fail("attendance.need_reason")
    member = next((m for m in meeting_store.due_members(meeting) if m.name == name), None)
    if member is None:
        fail("attendance.unknown_member", meeting=attendance.label(meeting), name=name)
    old = attendance.mark(meeting, member, status, reason.strip(), by, clock.now())
    db.session.commit()
    labels = meeting_rules.STATUS_LABELS
    click.echo(render("attendance.marked", name=name, meeting=attendance.label(meeting),
                      old=labels.get(old, "—"), new=labels[status], reason=reason.strip()))


@group.command("record")
@click.argument("meeting_id", type=int)
@click.option("--host", help="主持人")
@click.option("--recorder", help="记录人")
@click.option("--content", help="会议内容")
@click.option("--decisions", help="会议决定")
@click.option("--content-file", type=click.Path(exists=True, dir_okay=False),
              help="从文本文件读会议内容（UTF-8）")
def record(meeting_id, host, recorder, content, decisions, content_file):
    """The meeting record's words: host, recorder, content and decisions (记实表)."""
    from pathlib import Path

    meeting = _meeting(meeting_id)
    if content_file:
        content = Path(content_file).read_text(encoding="utf-8").strip()
    for name, value in (("host", host), ("recorder", recorder), ("content", content),
                        ("decisions", decisions)):
        if value is not None:
            setattr(meeting, name, value.strip())
    meeting.updated_at = clock.now()
    db.session.commit()
    click.echo(render("calendar.recorded", meeting=attendance.label(meeting), id=meeting.id))


@group.command("close")
@click.argument("meeting_id", type=int)
def close(meeting_id):
    """Close a meeting now: every due member gets exactly one status."""
    meeting = _meeting(meeting_id)
    counts = attendance.close(meeting, clock.now(), by="cli")
    db.session.commit()
    click.echo(render("attendance.closed", meeting=attendance.label(meeting), **counts))


reminders_group = AppGroup("reminders", help="会议提醒。")


@reminders_group.command("run")
@click.option("--at", "at_text", required=True, help='"YYYY-MM-DD HH:MM"，北京时间')
@click.option("--dry-run", is_flag=True, help="只列出会发什么，不发送。")
def reminders_run(at_text, dry_run):
    """Run the reminder planner as of that Beijing time; print what it sends or would send."""
    from bot.jobs.meetings import run_reminders

    try:
        now = clock.parse_at(at_text)
    except ValueError:
        fail("calendar.bad_at", at=at_text)
    for planned, result in run_reminders(now, dry_run=dry_run, inline=True):
        click.echo(planned.describe(result))


report_group = AppGroup("report", help="检查：三会一课落实情况。")


@report_group.command("compliance")
@click.option("--quarter", "quarter_text", required=True, help="YYYY-Q1 … YYYY-Q4")
@click.option("--branch")
@click.option("--json", "as_json", is_flag=True)
def compliance_(quarter_text, branch, as_json):
    """For each branch: each meeting its rules require in the quarter, held or missing."""
    try:
        year, quarter = parse_quarter(quarter_text)
    except ValueError:
        fail("compliance.bad_quarter", quarter=quarter_text)
    found = branches_named(branch)
    if as_json:
        click.echo(json.dumps([compliance.as_json(b, year, quarter) for b in found],
                              ensure_ascii=False))
        return
    click.echo("\n\n".join(compliance.report_text(b, year, quarter) for b in found))

"""`flask --app wsgi export attendance`: the monthly attendance workbook (or CSV folder)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from bot import clock
from bot.cli import branches_named, fail
from bot.exports import attendance as export
from bot.replies import render
from bot.members.rules import LEADER_ROLES
from bot.members import store as member_store
from bot.storage.engine import db

group = AppGroup("export", help="导出：月度考勤表、会议记实表。")


@group.command("attendance")
@click.option("--month", "month_text", required=True, help="YYYY-MM")
@click.option("--branch", help="党支部（默认每个支部各一份）")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="XLSX 文件；--format csv 时为文件夹")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx",
              show_default=True)
@click.option("--phones", is_flag=True, help="手机号码不打码")
@click.option("--locations", is_flag=True, help="流动党员表含汇报位置（坐标）")
@click.option("--by", "by", default=None, help="导出人姓名（记入导出记录；决定能否导出党费）")
def attendance(month_text, branch, out, fmt, phones, locations, by):
    """The month's workbook: 考勤表, 请假明细, 学习打卡, 党费, 流动党员."""
    try:
        year, month = clock.parse_month(month_text)
    except ValueError:
        fail("calendar.bad_month_arg", month=month_text)
    found = branches_named(branch)
    with_dues = True  # an operator at the console
    if by:
        people = member_store.members_by_name(by, branch)
        if len(people) != 1:
            fail("dues.unknown_member", name=by)
        with_dues = bool(people[0].roles & LEADER_ROLES)
    for item in found:
        target = out if len(found) == 1 else out.with_name(f"{out.stem}-{item.name}{out.suffix}")
        log = export.save(item, year, month, clock.now(), by or "cli", "cli", path=target,
                          fmt=fmt, with_dues=with_dues, phones=phones, locations=locations)
        db.session.commit()
        sheets = log.options["sheets"]
        click.echo(render("export.written", branch=item.name, month=month_text, path=target,
                          sheets="、".join(sheets))
                   + ("" if with_dues else render("export.no_dues")))


@group.command("record")
@click.argument("meeting_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="FILE.docx 或 FILE.xlsx")
@click.option("--by", "by", default="cli", help="导出人（记入导出记录）")
def record(meeting_id, out, by):
    """The meeting record (记实表) filled from the attendance log and the secretary's words."""
    from bot.exports import record as meeting_record
    from bot.storage.models import Meeting

    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        fail("calendar.no_meeting", id=meeting_id)
    if out.suffix.lower() not in (".docx", ".xlsx"):
        fail("export.bad_suffix", path=out)
    meeting_record.save(meeting, out, by, "cli", clock.now())
    db.session.commit()
    click.echo(render("export.record_written", title=meeting_record.title(meeting), path=out))
    for warning in meeting_record.warnings(meeting):  # written all the same: the secretary checks
        click.echo(warning)

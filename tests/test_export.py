"""The monthly attendance export, opened with openpyxl and checked cell by cell against the
database; the CSV form; masking, locations, dues by role, and the export log."""
from __future__ import annotations

from datetime import date

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import select

from bot.meetings import attendance
from bot.meetings import planning as meetings
from bot.cli.exports import group as export_cli
from bot.clock import month_bounds
from bot.meetings.rules import STATUS_LABELS
from bot.meetings import store as meeting_store
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, ExportLog, MeetingAttendance, Member
from tests.helpers import OPENIDS, beijing, bind




@pytest.fixture
def month(app, platform, fake, tmp_path, clock):
    """November 2026 of the test branch: a closed 支委会, a closed 主题党日 with every status,
    a closed 第二党小组会, and a 党课 still to come; leave, study, dues and a floating member."""
    bind(platform, tmp_path, *OPENIDS.items())
    for openid in OPENIDS.values():
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    branch = db.session.execute(select(Branch)).scalar_one()
    meetings.start_branch(branch, date(2026, 11, 1))  # its records are kept here all November
    clock.set(beijing(2026, 11, 1, 9))
    meetings.plan_month(branch, 2026, 11, clock())  # 主题党日 6 Nov, 支委会 2 Nov, 党小组会 …
    meetings.add(branch, "party_lecture", beijing(2026, 11, 27, 14, 30), clock())  # still to come
    found = meeting_store.in_range(*month_bounds(2026, 11), branch.id)
    theme = next(m for m in found if m.kind == "theme_day")
    committee = next(m for m in found if m.kind == "committee")
    platform.text("o_zhang", "外出报告：去苏州打工三个月，电话没变13800138001")
    platform.text("o_wang", "主题党日请假，孩子生病")
    number = db.session.execute(select(MeetingAttendance.id).where(
        MeetingAttendance.meeting_id == theme.id)).scalar_one()
    platform.text("o_li", f"批准 {number}")
    clock.set(beijing(2026, 11, 6, 14, 25))
    platform.text("o_li", f"签到 {theme.checkin_code}")
    platform.text("o_zhang", f"签到 {theme.checkin_code}")  # floating: remote
    clock.set(beijing(2026, 11, 21, 20))
    platform.text("o_wang", "今天学习了党章第三章40分钟")
    platform.text("o_li", "记党费 王志强 11月 48 转账")
    platform.text("o_zhang", "汇报：在苏州，工作正常，参加了当地支部的主题党日")
    platform.text("o_li", "联系了张建国，一切正常")
    attendance.close_finished(clock())
    return branch, theme, committee


def export(app, *args):
    result = app.test_cli_runner().invoke(export_cli, ["attendance", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_workbook_matches_the_database_cell_by_cell(app, month, tmp_path, clock):
    branch = month[0]
    out = tmp_path / "考勤.xlsx"
    assert "已导出 第一党支部 2026-11" in export(app, "--month", "2026-11", "--out", out)
    book = load_workbook(out)
    assert book.sheetnames == ["考勤表", "请假明细", "学习打卡", "党费", "流动党员"]
    sheet = book["考勤表"]
    assert sheet["A1"].value == "第一党支部 2026年11月 考勤表"
    assert sheet.freeze_panes == "B3"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.column_dimensions["A"].width == 10
    header = [c.value for c in sheet[2]]
    found = meeting_store.in_range(*month_bounds(2026, 11), branch.id)
    assert header[:4] == ["姓名", "党小组", "人员类别", "流动党员"]
    assert header[-4:] == ["应到", "实到", "请假", "缺席"]
    assert len(header) == 8 + len(found)
    members = {m.name: m for m in db.session.execute(select(Member)).scalars()}
    table = {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=3)
             if row[0].value in members}
    assert len(table) == 4
    for name, row in table.items():
        member = members[name]
        for column, meeting in enumerate(found, start=4):
            record = db.session.execute(select(MeetingAttendance).where(
                MeetingAttendance.meeting_id == meeting.id,
                MeetingAttendance.member_id == member.id)).scalar_one_or_none()
            if not meeting_store.is_due(meeting, member):
                expected = "—"
            elif meeting.status != "closed":
                expected = "未结束"
            else:
                expected = STATUS_LABELS[record.attendance]
            assert row[column] == expected, (name, meeting.kind, row[column])
        statuses = row[4:4 + len(found)]
        assert row[-4:] == [sum(1 for s in statuses if s != "—"),
                            sum(1 for s in statuses if s in ("出席", "远程参加")),
                            statuses.count("请假"), statuses.count("缺席")]
    theme_column = 4 + [m.id for m in found].index(month[1].id)
    assert [table[n][theme_column] for n in ("张建国", "李红梅", "王志强", "刘海波")] == \
        ["远程参加", "出席", "请假", "缺席"]
    totals = {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=3)
              if row[0].value in ("应到", "实到", "请假", "缺席", "出席率")}
    assert [totals[k][theme_column] for k in ("应到", "实到", "请假", "缺席", "出席率")] == \
        [4, 2, 1, 1, "50%"]
    assert any("说明：出席" in str(row[0].value) for row in sheet.iter_rows())

    leave = [[c.value for c in row] for row in book["请假明细"].iter_rows()]
    assert leave[1][0] == "王志强" and leave[1][2:5] == ["孩子生病", "已批准", "李红梅"]
    study = {row[0].value: [c.value for c in row] for row in book["学习打卡"].iter_rows(min_row=2)}
    assert study["王志强"][2:5] == [1, 1, 40]
    assert study["李红梅"][5] == 1  # the 主题党日 attended
    dues_rows = {row[0].value: [c.value for c in row] for row in book["党费"].iter_rows(min_row=2)}
    assert dues_rows["王志强"][:3] == ["王志强", "48.00", "48.00"]
    assert dues_rows["李红梅"][2] is None and dues_rows["李红梅"][1] == "93.00"
    floating = [[c.value for c in row] for row in book["流动党员"].iter_rows()]
    assert floating[1][:8] == ["张建国", "138****8001", "打工", "苏州", "2026-11-01", None,
                               "已汇报", "2026-11-21"]
    assert len(floating[0]) == 8  # no locations unless asked for
    log = db.session.execute(select(ExportLog)).scalar_one()
    assert (log.kind, log.period, log.exported_by) == ("attendance", "2026-11", "cli")


def test_phones_locations_dues_by_role_and_csv(app, month, tmp_path):
    out = tmp_path / "full.xlsx"
    export(app, "--month", "2026-11", "--out", out, "--phones", "--locations", "--by", "李红梅")
    floating = [[c.value for c in row] for row in load_workbook(out)["流动党员"].iter_rows()]
    assert floating[1][1] == "13800138001" and floating[0][-3:] == ["汇报位置", "纬度", "经度"]
    out = tmp_path / "member.xlsx"
    assert "未含党费表" in export(app, "--month", "2026-11", "--out", out, "--by", "王志强")
    assert "党费" not in load_workbook(out).sheetnames
    folder = tmp_path / "csv"
    export(app, "--month", "2026-11", "--out", folder, "--format", "csv")
    raw = (folder / "考勤表.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "第一党支部 2026年11月 考勤表" in raw.decode("utf-8-sig")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["考勤表.csv", "请假明细.csv", "学习打卡.csv", "党费.csv", "流动党员.csv"])
    assert [r.exported_by for r in db.session.execute(select(ExportLog)).scalars()] == \
        ["李红梅", "王志强", "cli"]
    bad = app.test_cli_runner().invoke(export_cli, ["attendance", "--month", "11/2026",
                                                    "--out", tmp_path / "x.xlsx"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_the_meeting_record_from_the_attendance_log(app, month, tmp_path):
    from docx import Document

    from bot.cli.meetings import group as meetings_cli

    theme = month[1]
    runner = app.test_cli_runner()
    result = runner.invoke(meetings_cli, ["record", str(theme.id), "--host", "张建国",
                                          "--recorder", "李红梅", "--content", "学习党章第三章",
                                          "--decisions", "12月开展志愿服务"])
    assert result.exit_code == 0 and "已保存记实内容" in result.output
    expected = {
        "党支部": "第一党支部", "会议类型": "主题党日", "时间": "2026年11月06日 14:30",
        "主持人": "张建国", "记录人": "李红梅", "应到": "4 人",
        "实到": "2 人：李红梅、张建国（远程）", "请假": "1 人：王志强（孩子生病）",
        "缺席": "1 人：刘海波", "会议内容": "学习党章第三章", "会议决定": "12月开展志愿服务"}
    docx_path, xlsx_path = tmp_path / "记实表.docx", tmp_path / "记实表.xlsx"
    for path in (docx_path, xlsx_path):
        out = runner.invoke(export_cli, ["record", str(theme.id), "--out", str(path)])
        assert out.exit_code == 0 and "已生成第一党支部主题党日记实表" in out.output
    table = Document(docx_path).tables[0]
    cells = {row.cells[0].text: row.cells[1].text for row in table.rows}
    assert {k: cells[k] for k in expected} == expected
    sheet = load_workbook(xlsx_path)["记实表"]
    values = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert {k: values[k] for k in expected} == expected
    assert sheet["A1"].value == "第一党支部主题党日记实表"
    bad = runner.invoke(export_cli, ["record", str(theme.id), "--out", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 2
    assert runner.invoke(export_cli, ["record", "999", "--out", str(docx_path)]).exit_code == 2


def test_the_workbook_opens_in_libreoffice_and_renders(app, month, tmp_path):
    """LibreOffice converts it to PDF; its first page is rendered to PNG as a test artifact
    (tests/artifacts/, kept for a person to look at). `make test` installs both programs."""
    import shutil
    import subprocess

    from bot.config import ROOT

    assert shutil.which("soffice") and shutil.which("pdftoppm"), \
        "libreoffice-calc and poppler-utils are installed by `make test`"
    out = tmp_path / "attendance.xlsx"
    export(app, "--month", "2026-11", "--out", out)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "attendance.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    prefix = artifacts / f"attendance-{app.config['BACKEND']}"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(prefix)], check=True, timeout=60)
    png = prefix.with_suffix(".png")
    assert png.exists() and png.stat().st_size > 10_000


def test_a_secretary_asks_in_chat_and_gets_a_link_that_expires(app, month, platform, fake,
                                                               clock):
    from rq import SimpleWorker

    clock.set(beijing(2026, 11, 22, 9))
    platform.text("o_zhang", "帮助")
    assert platform.text("o_wang", "导出考勤") == "这项操作只有支部书记、副书记或组织委员可以使用。"
    assert platform.text("o_li", "导出本月考勤表") == \
        "正在生成11月考勤表，生成后把下载链接发给您（24 小时内有效）。"
    queue = app.extensions["rq_queue"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    sent = [d["body"]["text"]["content"] for d in fake.state.delivered if d["openid"] == "o_li"]
    assert sent[-1].startswith("11月考勤表已生成，下载：http://127.0.0.1:5000/exports/")
    link = sent[-1].split("下载：", 1)[1].split(" ")[0]
    path = link.split("127.0.0.1:5000", 1)[1]
    response = app.test_client().get(path)
    assert response.status_code == 200 and response.data[:2] == b"PK"  # an XLSX (a zip)
    log = db.session.execute(select(ExportLog)).scalar_one()
    assert log.exported_by == f"member:{store.members_by_name('李红梅')[0].id}"
    assert app.test_client().get(path[:-3] + "xyz").status_code == 404  # forged
    clock.advance(hours=23)
    assert app.test_client().get(path).status_code == 200
    clock.advance(hours=2)  # 25 hours after it was made
    expired = app.test_client().get(path)
    assert expired.status_code == 410 and "已过期" in expired.get_data(as_text=True)

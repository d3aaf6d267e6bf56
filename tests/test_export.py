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
    platform.text("o_wang", "学习心得：要把学习成果转化为推动工作的实际成效")
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
    assert sheet.column_dimensions["A"].width > 9  # stretched to the page's width
    assert sheet.print_title_rows == "$1:$2" and sheet.page_setup.fitToWidth == 1
    for row in (2, 3, 6 + 5):  # the header, a member, the last total row: bordered, in 宋体
        cell = sheet.cell(row, 1)
        assert cell.border.left.style == cell.border.bottom.style == "thin", row
        assert cell.font.name == "宋体"
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
        [4, 2, 1, 1, 0.5]
    rate = next(row for row in sheet.iter_rows(min_row=3) if row[0].value == "出席率")
    assert rate[theme_column].number_format == "0%"
    # each count row also totals its own column of the members' counts
    assert [totals[k][-4 + i] for i, k in enumerate(("应到", "实到", "请假", "缺席"))] == \
        [sum(row[-4 + i] for row in table.values()) for i in range(4)]
    assert any("说明：出席" in str(row[0].value) for row in sheet.iter_rows())
    assert any("制表人" in str(row[0].value) and "审核人" in str(row[0].value)
               for row in sheet.iter_rows())

    leave = [[c.value for c in row] for row in book["请假明细"].iter_rows()]
    assert leave[0][0] == "第一党支部 2026年11月 请假明细"
    assert leave[2][0] == "王志强" and leave[2][2:5] == ["孩子生病", "已批准", "李红梅"]
    study = {row[0].value: [c.value for c in row] for row in book["学习打卡"].iter_rows(min_row=3)}
    assert study["王志强"][2:8] == [1, 1, 40, 0, "党章第三章",
                                 "11月21日：要把学习成果转化为推动工作的实际成效"]
    assert study["李红梅"][5] == 1  # the 主题党日 attended
    assert study["合计"][2:6] == [sum(study[n][i] for n in table) for i in range(2, 6)]
    floating = [[c.value for c in row] for row in book["流动党员"].iter_rows()]
    assert floating[2][:8] == ["张建国", "138****8001", "打工", "苏州", "2026-11-01", None,
                               "已汇报", "2026-11-21"]
    assert len(floating[1]) == 8  # no locations unless asked for
    log = db.session.execute(select(ExportLog)).scalar_one()
    assert (log.kind, log.period, log.exported_by) == ("attendance", "2026-11", "cli")


def test_phones_locations_dues_by_role_and_csv(app, month, tmp_path):
    out = tmp_path / "full.xlsx"
    export(app, "--month", "2026-11", "--out", out, "--phones", "--locations", "--by", "李红梅")
    floating = [[c.value for c in row] for row in load_workbook(out)["流动党员"].iter_rows()]
    assert floating[2][1] == "13800138001" and floating[1][-3:] == ["汇报位置", "纬度", "经度"]
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


def test_amounts_are_numbers_under_a_total_row(app, month, tmp_path):
    out = tmp_path / "dues.xlsx"
    export(app, "--month", "2026-11", "--out", out)
    sheet = load_workbook(out)["党费"]
    assert sheet["A1"].value == "第一党支部 2026年11月 党费收缴情况"
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=3) if row[0].value}
    wang, li = rows["王志强"], rows["李红梅"]
    assert [c.value for c in wang[1:3]] == [48, 48] and li[1].value == 93 and li[2].value is None
    assert all(c.data_type == "n" and c.number_format == "0.00" for c in (*wang[1:3], li[1]))
    members = [rows[name] for name in ("张建国", "李红梅", "王志强", "刘海波")]
    total = rows["合计"]
    assert total[1].value == sum(r[1].value or 0 for r in members) and total[2].value == 48
    assert total[1].number_format == "0.00" and total[1].font.b
    assert total[1].row == max(r[0].row for r in members) + 1  # right under the table


def test_file_names_carry_no_number_and_never_collide(app, month, clock, monkeypatch,
                                                       tmp_path):
    import re
    from pathlib import Path

    from bot.exports import attendance as exporting

    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    branch = month[0]
    logs = [exporting.save(branch, 2026, 11, clock(), "cli", "chat") for _ in range(3)]
    db.session.commit()
    names = [Path(log.path).name for log in logs]
    assert names == ["第一党支部-2026-11-考勤表.xlsx", "第一党支部-2026-11-考勤表(2).xlsx",
                     "第一党支部-2026-11-考勤表(3).xlsx"]
    assert not any(re.match(r"\d+-", name) for name in names)
    assert all(load_workbook(log.path)["考勤表"]["A1"].value for log in logs)


def _record_words(app, meeting_id, host, recorder, **more):
    from bot.cli.meetings import group as meetings_cli

    args = ["record", str(meeting_id), "--host", host, "--recorder", recorder]
    for name, value in more.items():
        args += [f"--{name}", value]
    result = app.test_cli_runner().invoke(meetings_cli, args)
    assert result.exit_code == 0, result.output


def test_the_record_warns_when_host_or_recorder_was_not_there(app, month, tmp_path):
    from docx import Document

    theme = month[1]  # 王志强 was on leave, 刘海波 absent
    _record_words(app, theme.id, "王志强", "刘海波")
    runner = app.test_cli_runner()
    path = tmp_path / "记实表.docx"
    result = runner.invoke(export_cli, ["record", str(theme.id), "--out", str(path)])
    assert result.exit_code == 0 and path.exists()
    assert "⚠ 请核对：主持人王志强按考勤记录本次会议请假，不在会场" in result.output
    assert "⚠ 请核对：记录人刘海波按考勤记录本次会议缺席，不在会场" in result.output
    document = Document(path)
    written = [p.text for p in document.paragraphs] + [c.text for row in document.tables[0].rows
                                                       for c in row.cells]
    assert not any("请核对" in text for text in written)  # a word to the exporter, not the paper
    _record_words(app, theme.id, "张建国", "李红梅")  # remote and present: both were there
    result = runner.invoke(export_cli, ["record", str(theme.id), "--out", str(path)])
    assert result.exit_code == 0 and "请核对" not in result.output


def test_a_party_lecture_names_its_lecturer(app, month, tmp_path):
    from docx import Document

    branch = month[0]
    lecture = next(m for m in meeting_store.in_range(*month_bounds(2026, 11), branch.id)
                   if m.kind == "party_lecture" and m.status == "scheduled")
    _record_words(app, lecture.id, "李红梅", "张建国")
    path = tmp_path / "党课.docx"
    result = app.test_cli_runner().invoke(export_cli, ["record", str(lecture.id), "--out",
                                                       str(path)])
    assert result.exit_code == 0 and "请核对" not in result.output  # not held yet: no status
    document = Document(path)
    cells = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert cells["授课人"] == "李红梅" and "主持人" not in cells
    assert any("授课人签字" in p.text and "记录人签字" in p.text for p in document.paragraphs)


# The papers as the Party committee gets them: LibreOffice (Calc and Writer) prints them to PDF,
# poppler tells the page count, the paper size and the words on each page, and renders pages to
# PNG in tests/artifacts/ for a person to look at. `make test` installs these programs.
A4 = (595.28, 841.89)  # points, portrait


def _pdfs(tmp_path, *files):
    import shutil
    import subprocess

    assert shutil.which("soffice") and shutil.which("pdftoppm") and shutil.which("pdfinfo"), \
        "libreoffice-calc, libreoffice-writer and poppler-utils are installed by `make test`"
    out = tmp_path / "pdf"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
                    "--convert-to", "pdf", "--outdir", str(out), *map(str, files)],
                   check=True, capture_output=True, timeout=300)
    pdfs = [out / f"{f.stem}.pdf" for f in files]
    assert all(pdf.exists() and pdf.read_bytes().startswith(b"%PDF") for pdf in pdfs)
    return pdfs


def _pages(pdf) -> list[tuple[float, float]]:
    """The size of every page, in points."""
    import re
    import subprocess

    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    return [(float(w), float(h)) for w, h in
            re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info, re.M)]


def _is(size, width, height) -> bool:
    return abs(size[0] - width) < 1 and abs(size[1] - height) < 1


def _words(pdf, page: int) -> str:
    """The text of one page, without spaces or line breaks."""
    import subprocess

    text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          check=True, capture_output=True, text=True, timeout=60).stdout
    return "".join(text.split())


def _png(app, pdf, page: int, name: str):
    import subprocess

    from bot.config import ROOT

    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    prefix = artifacts / f"{name}-{app.config['BACKEND']}"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(prefix)], check=True, timeout=60)
    png = prefix.with_suffix(".png")
    assert png.exists() and png.stat().st_size > 10_000


def test_the_papers_print_on_a4_ready_to_hand_in(app, month, tmp_path):
    theme = month[1]
    theme.place, theme.topic = "党员活动室", "学习党章，重温入党誓词"
    db.session.commit()
    _record_words(app, theme.id, "张建国", "李红梅", content="学习党章第三章，讨论志愿服务安排",
                  decisions="12月开展志愿服务")
    book, docx, xlsx = tmp_path / "考勤表.xlsx", tmp_path / "记实表.docx", tmp_path / "记实表2.xlsx"
    export(app, "--month", "2026-11", "--out", book)
    runner = app.test_cli_runner()
    for path in (docx, xlsx):
        assert runner.invoke(export_cli, ["record", str(theme.id), "--out", str(path)]) \
            .exit_code == 0
    book_pdf, docx_pdf, xlsx_pdf = _pdfs(tmp_path, book, docx, xlsx)

    # the workbook: a small month prints one A4 landscape page per sheet, each titled and signed
    pages = _pages(book_pdf)
    assert len(pages) == len(load_workbook(book).sheetnames) == 5
    assert all(_is(size, A4[1], A4[0]) for size in pages)
    texts = [_words(book_pdf, page) for page in range(1, len(pages) + 1)]
    assert all("制表人：" in t and "审核人：" in t and "日期：" in t for t in texts)
    assert all(f"第{n}页，共{len(pages)}页" in t for n, t in enumerate(texts, start=1))
    first = texts[0]
    assert "第一党支部2026年11月考勤表" in first and "出席率" in first and "50%" in first
    assert all(name in first for name in ("张建国", "李红梅", "王志强", "刘海波"))
    study = next(i for i, t in enumerate(texts) if "学习情况" in t)
    assert "学习内容" in texts[study] and "学习心得" in texts[study]
    assert "要把学习成果转化为推动工作的实际成效" in texts[study] and "合计" in texts[study]
    dues = next(t for t in texts if "党费收缴情况" in t)
    assert "48.00" in dues and "93.00" in dues and "合计" in dues
    _png(app, book_pdf, 1, "attendance")
    _png(app, book_pdf, study + 1, "attendance-study")

    # the record, as .docx and as .xlsx: one A4 portrait page, every field and its value, and
    # the lines to sign
    for pdf, name in ((docx_pdf, "record-docx"), (xlsx_pdf, "record-xlsx")):
        pages = _pages(pdf)
        assert len(pages) == 1 and _is(pages[0], *A4), (name, pages)
        text = _words(pdf, 1)
        for words in ("第一党支部主题党日记实表", "会议类型主题党日", "时间2026年11月06日14:30",
                      "地点党员活动室", "主题学习党章，重温入党誓词",
                      "主持人张建国", "记录人李红梅", "应到4人", "实到2人：李红梅、张建国（远程）",
                      "请假1人：王志强（孩子生病）", "缺席1人：刘海波",  # label, then value
                      "会议内容", "学习党章第三章，讨论志愿服务安排", "会议决定", "12月开展志愿服务",
                      "主持人签字：", "记录人签字："):
            assert words in text, (name, words, text)
        _png(app, pdf, 1, name)


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

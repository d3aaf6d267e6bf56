"""The secretary's console: a one-time sign-in link from chat, pages scoped to the branch, the
export and the meeting record downloaded (and logged), the record's words saved."""
from __future__ import annotations

from io import BytesIO
from urllib.parse import quote

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.storage.engine import db
from bot.storage.models import ExportLog, Meeting
from tests.helpers import beijing
from tests.test_export import month  # noqa: F401  (the month fixture)


def sign_in(platform, client, openid="o_li") -> str:
    reply = platform.text(openid, "控制台")
    assert reply.startswith("控制台登录链接（10 分钟内有效，只能用一次，请勿转发）：http://127.0.0.1:5000/console/login/")
    path = reply.split("127.0.0.1:5000", 1)[1]
    response = client.get(path)
    assert response.status_code == 302 and response.location.endswith("/console/")
    return path


def test_sign_in_once_and_only_for_leaders(app, month, platform, clock):  # noqa: F811
    client = app.test_client()
    assert client.get("/console/").status_code == 401
    assert "控制台只对支部书记" in platform.text("o_liu", "控制台")  # a member
    path = sign_in(platform, client)
    page = client.get("/console/").get_data(as_text=True)
    assert "第一党支部 控制台" in page and "李红梅同志" in page and "主题党日" in page
    assert app.test_client().get(path).status_code == 410  # a second use
    reply = platform.text("o_zhang", "控制台")
    clock.advance(minutes=11)
    late = app.test_client().get(reply.split("127.0.0.1:5000", 1)[1])
    assert late.status_code == 410 and "已过期" in late.get_data(as_text=True)
    assert app.test_client().get("/console/login/forged").status_code == 404


def test_export_compliance_and_the_meeting_record(app, month, platform, clock):  # noqa: F811
    client = app.test_client()
    sign_in(platform, client)
    theme = month[1]
    book = client.get("/console/attendance.xlsx?month=2026-11")
    assert book.status_code == 200
    again = client.get("/console/attendance.xlsx?month=2026-11")  # a second file in the folder
    for response in (book, again):  # both saved under the paper's own name, without (2)
        assert response.headers["Content-Disposition"].endswith(
            "filename*=UTF-8''" + quote("第一党支部-2026-11-考勤表.xlsx"))
    assert load_workbook(BytesIO(book.data))["考勤表"]["A1"].value == "第一党支部 2026年11月 考勤表"
    check = client.get("/console/compliance?quarter=2026-Q4").get_data(as_text=True)
    assert "第一党支部 2026年第4季度 三会一课检查" in check
    assert client.get("/console/compliance?quarter=2026-Q9").status_code == 400
    page = client.get(f"/console/meetings/{theme.id}").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    forged = client.post(f"/console/meetings/{theme.id}", data={
        "host": "张建国", "recorder": "李红梅", "content": "学习党章", "decisions": "—",
        "csrf_token": "wrong"})
    assert forged.status_code == 400 and "没有保存任何内容" in forged.get_data(as_text=True)
    assert db.session.get(Meeting, theme.id).content is None
    saved = client.post(f"/console/meetings/{theme.id}", data={
        "host": "张建国", "recorder": "李红梅", "content": "学习党章第三章", "decisions": "开展志愿服务",
        "csrf_token": csrf}).get_data(as_text=True)
    assert "已保存" in saved and "请核对" not in saved
    warned = client.post(f"/console/meetings/{theme.id}", data={
        "host": "张建国", "recorder": "刘海波", "content": "学习党章第三章", "decisions": "开展志愿服务",
        "csrf_token": csrf}).get_data(as_text=True)  # 刘海波 was absent
    assert "⚠ 请核对：记录人刘海波按考勤记录本次会议缺席" in warned
    client.post(f"/console/meetings/{theme.id}", data={
        "host": "张建国", "recorder": "李红梅", "content": "学习党章第三章", "decisions": "开展志愿服务",
        "csrf_token": csrf})
    assert db.session.get(Meeting, theme.id).content == "学习党章第三章"
    from bot.storage.models import ConsoleChange

    kept = db.session.execute(select(ConsoleChange).where(
        ConsoleChange.kind == "meeting_record").order_by(ConsoleChange.id)).scalars().all()
    assert [c.details["after"] for c in kept] == [  # who wrote what, each change once
        {"host": "张建国", "recorder": "李红梅", "content": "学习党章第三章", "decisions": "开展志愿服务"},
        {"recorder": "刘海波"}, {"recorder": "李红梅"}]
    assert kept[1].details["before"] == {"recorder": "李红梅"} and kept[0].by.startswith("member:")
    doc = Document(BytesIO(client.get(f"/console/meetings/{theme.id}/record.docx").data))
    cells = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert cells["会议内容"] == "学习党章第三章" and cells["实到"].startswith("2 人")
    from bot.meetings import planning as meetings
    from bot.members import store

    elsewhere = meetings.add(store.get_or_create_branch("第二党支部", "机关党委"), "committee",
                             beijing(2026, 11, 9, 9), clock())
    assert client.get(f"/console/meetings/{elsewhere.id}").status_code == 404  # not theirs
    assert client.get(f"/console/meetings/{elsewhere.id}/record.docx").status_code == 404
    logs = [(l.kind, l.exported_by) for l in db.session.execute(
        select(ExportLog).order_by(ExportLog.id)).scalars()]
    assert logs[0][0] == "attendance" and logs[-1][0] == "record"
    assert all(by.startswith("member:") for _, by in logs)

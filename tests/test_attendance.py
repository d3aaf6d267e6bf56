"""Sign-in and the attendance log, travelling through a meeting day via the real webhook."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.meetings import attendance
from bot.meetings import planning as meetings
from bot.cli.meetings import group as meetings_cli
from bot.jobs.meetings import close_finished_meetings
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import AttendanceChange, Branch, MeetingAttendance
from tests.helpers import beijing, bind



@pytest.fixture
def day(app, platform, tmp_path, clock):
    """27 Nov 2026: a 支委会 at 09:00 and a 主题党日 at 14:30; four members bound
    (张建国 secretary, 李红梅 committee, 王志强, 刘海波 floating)."""
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"),
         ("刘海波", "o_liu"))
    branch = db.session.execute(select(Branch)).scalar_one()
    committee = meetings.add(branch, "committee", beijing(2026, 11, 27, 9), clock())
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    if theme.checkin_code == committee.checkin_code:
        theme.checkin_code = "1" + committee.checkin_code[1:] if committee.checkin_code[0] != "1" \
            else "2" + committee.checkin_code[1:]
        db.session.commit()
    return {"branch": branch, "committee": committee, "theme": theme}


def show(app, meeting) -> dict:
    out = app.test_cli_runner().invoke(meetings_cli, ["show", str(meeting.id), "--json"]).output
    return {m["name"]: m["attendance"] for m in json.loads(out)["members"]}


def test_a_meeting_day(app, platform, clock, day):
    theme, committee = day["theme"], day["committee"]
    code = theme.checkin_code
    clock.set(beijing(2026, 11, 27, 13, 30))
    assert "14:00 开始" in platform.text("o_wang", f"签到 {code}")  # window opens 30 min before
    assert show(app, theme)["王志强"] is None

    clock.set(beijing(2026, 11, 27, 14, 10))
    wrong = "0000" if code != "0000" else "9999"
    assert "签到码不对" in platform.text("o_wang", f"签到 {wrong}")
    assert "签到成功" in platform.text("o_wang", f"签到 {code}")
    assert "已经签过到" in platform.text("o_wang", f"签到{code}")
    assert "远程签到成功" in platform.text("o_liu", f"签到 {code}")  # floating: 远程参加
    assert "不在支委会" in platform.text("o_wang", f"签到 {committee.checkin_code}")
    assert "加会场公布的签到码" in platform.text("o_li", "签到")  # bare: needs the code here
    day["branch"].settings = {"attendance": {"bare_checkin": True}}
    db.session.commit()
    assert "签到成功" in platform.text("o_li", "签到")  # one open meeting, and the branch allows it
    assert show(app, theme) == {"张建国": None, "李红梅": "present", "王志强": "present",
                                "刘海波": "remote"}

    clock.set(beijing(2026, 11, 27, 15, 1))
    assert "签到已在" in platform.text("o_zhang", f"签到 {code}")  # too late: ask for 补登
    assert close_finished_meetings() == "closed 2"
    assert show(app, theme) == {"张建国": "absent", "李红梅": "present", "王志强": "present",
                                "刘海波": "remote"}
    assert show(app, committee) == {"张建国": "absent", "李红梅": "absent"}
    assert "已经结束" in platform.text("o_zhang", f"签到 {code}")
    assert close_finished_meetings() == "closed 0"


def test_approved_leave_is_excused_at_close(app, clock, day):
    theme = day["theme"]
    zhang = store.members_by_name("张建国")[0]
    db.session.add(MeetingAttendance(meeting_id=theme.id, member_id=zhang.id, rsvp="leave",
                                     leave_reason="出差", leave_status="approved",
                                     updated_at=clock()))
    wang = store.members_by_name("王志强")[0]
    db.session.add(MeetingAttendance(meeting_id=theme.id, member_id=wang.id, rsvp="leave",
                                     leave_reason="有事", leave_status="pending",
                                     updated_at=clock()))
    db.session.commit()
    counts = attendance.close(theme, beijing(2026, 11, 27, 16))
    assert counts == {"due": 4, "present": 0, "remote": 0, "excused": 1, "absent": 3}
    assert show(app, theme)["张建国"] == "excused" and show(app, theme)["王志强"] == "absent"


def test_mark_by_hand_is_audited(app, clock, day):
    committee = day["committee"]
    clock.set(beijing(2026, 11, 27, 10))
    run = app.test_cli_runner().invoke
    assert run(meetings_cli, ["close", str(committee.id)]).exit_code == 0
    result = run(meetings_cli, ["mark", str(committee.id), "--member", "李红梅", "--status",
                                "present", "--reason", "会议记录确认到会", "--by", "张建国"])
    assert result.exit_code == 0 and "缺席 → 出席" in result.output
    assert show(app, committee)["李红梅"] == "present"
    li = store.members_by_name("李红梅")[0]
    trail = db.session.execute(select(AttendanceChange).where(
        AttendanceChange.member_id == li.id).order_by(AttendanceChange.id)).scalars().all()
    assert [(c.old, c.new, c.changed_by, c.reason) for c in trail] == [
        (None, "absent", "cli", None), ("absent", "present", "张建国", "会议记录确认到会")]
    assert all(c.changed_at == clock() for c in trail)
    for args, words in [
        (["--member", "李红梅", "--status", "present"], "原因"),
        (["--member", "李红梅", "--status", "here", "--reason", "x"], "状态应为"),
        (["--member", "王志强", "--status", "present", "--reason", "x"], "应到名单里没有"),
    ]:
        bad = run(meetings_cli, ["mark", str(committee.id), *args])
        assert bad.exit_code == 2 and words in bad.output
    # closing wrote one entry per due member, the 补登 one more; refused attempts wrote nothing
    assert len(db.session.execute(select(AttendanceChange)).scalars().all()) == 3


def test_bare_checkin_with_nothing_open_still_says_so(app, platform, clock, day):
    clock.set(beijing(2026, 11, 27, 12))
    assert "没有正在签到的会议" in platform.text("o_wang", "签到")

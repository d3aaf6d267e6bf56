"""RSVP and leave through the real webhook: meeting resolution, reasons, cutoff, approval."""
from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import select

from bot.meetings import planning as meetings
from bot.chat import outbox
from bot.cli.meetings import group as meetings_cli
from bot.storage.engine import db
from bot.storage.models import Branch, MeetingAttendance
from tests.helpers import beijing, bind, deliver



@pytest.fixture
def branch(app, platform, fake, tmp_path, clock):
    """Saturday 21 Nov 2026, 10:00. Coming up: 支委会 27 Nov 09:00, 主题党日 27 Nov 14:30,
    党课 5 Dec 14:30. 张建国 is secretary, 李红梅 organisation committee member."""
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"),
         ("刘海波", "o_liu"))
    for openid in ("o_zhang", "o_li", "o_wang", "o_liu"):
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    found = db.session.execute(select(Branch)).scalar_one()
    ids = {kind: meetings.add(found, kind, at, clock()).id for kind, at in (
        ("committee", beijing(2026, 11, 27, 9)), ("theme_day", beijing(2026, 11, 27, 14, 30)),
        ("party_lecture", beijing(2026, 12, 5, 14, 30)))}
    return ids


def member_row(app, meeting_id: int, name: str) -> dict:
    out = app.test_cli_runner().invoke(meetings_cli, ["show", str(meeting_id), "--json"]).output
    return next(m for m in json.loads(out)["members"] if m["name"] == name)


def test_rsvp_goes_to_the_nearest_meeting_due(app, platform, branch):
    reply = platform.text("o_wang", "参加")
    assert reply == "已报名：主题党日（11月27日（周五）14:30）。请准时参加。"  # not the 支委会
    assert member_row(app, branch["theme_day"], "王志强")["rsvp"] == "yes"
    assert "党课" in platform.text("o_wang", "党课我参加")
    assert member_row(app, branch["party_lecture"], "王志强")["rsvp"] == "yes"
    assert "没找到" in platform.text("o_wang", "12月9日的会我参加")


def test_leave_with_reason_goes_to_the_leaders_and_is_approved(app, platform, fake, branch):
    reply = platform.text("o_wang", "12月5日的党课我去不了，要出差")
    assert "已收到您的请假：党课（12月5日（周六）14:30），原因：出差" in reply
    row = member_row(app, branch["party_lecture"], "王志强")
    assert (row["rsvp"], row["leave_reason"], row["attendance"]) == ("leave", "出差", None)
    number = db.session.execute(select(MeetingAttendance.id).where(
        MeetingAttendance.leave_reason == "出差")).scalar_one()
    sent = deliver(app, fake)
    for leader in ("o_zhang", "o_li"):
        assert sent[leader] == [f"王志强请假：党课（12月5日（周六）14:30），原因：出差。"
                                f"回复“批准 {number}”或“不批准 {number}”。"]
    assert "o_wang" not in sent

    assert "只有支部书记" in platform.text("o_wang", f"批准 {number}")  # not a leader: refused
    assert member_row(app, branch["party_lecture"], "王志强")["attendance"] is None
    decided = platform.text("o_zhang", f"批准 {number}")
    assert decided == f"已批准王志强的请假（编号 {number}，党课（12月5日（周六）14:30））。"
    assert member_row(app, branch["party_lecture"], "王志强")["attendance"] == "excused"
    assert "已经审批过了（批准）" in platform.text("o_li", f"不批准 {number}")
    assert "没有编号为 999" in platform.text("o_li", "不批准 999")
    sent = deliver(app, fake)
    assert sent["o_wang"] == ["您的请假已批准：党课（12月5日（周六）14:30）。"]


def test_a_missing_reason_is_asked_for(app, platform, branch):
    assert "请说一下请假的原因（主题党日" in platform.text("o_wang", "请假")
    assert member_row(app, branch["theme_day"], "王志强")["rsvp"] is None  # nothing half-saved
    assert "原因：孩子生病" in platform.text("o_wang", "孩子生病")
    assert member_row(app, branch["theme_day"], "王志强")["leave_reason"] == "孩子生病"
    assert "已经请过假" in platform.text("o_wang", "主题党日请假，有事")

    assert "请说一下请假的原因（党课" in platform.text("o_liu", "党课请假")
    assert platform.text("o_liu", "取消") == "好的，没有请假。"
    assert member_row(app, branch["party_lecture"], "刘海波")["rsvp"] is None
    assert "帮助" in platform.text("o_liu", "你好")  # the question is over


def test_a_denied_leave_is_not_excused(app, platform, fake, branch):
    platform.text("o_wang", "主题党日请假，家里有事")
    number = db.session.execute(select(MeetingAttendance.id)).scalar_one()
    assert "已不批准王志强" in platform.text("o_li", f"不批准{number}")
    row = member_row(app, branch["theme_day"], "王志强")
    assert (row["rsvp"], row["attendance"]) == ("leave", None)
    assert deliver(app, fake)["o_wang"] == ["您的请假没有批准：主题党日（11月27日（周五）14:30）。"
                                            "如有疑问请联系支部书记张建国。"]


def test_leave_after_the_cutoff_is_refused(app, platform, clock, branch):
    clock.set(beijing(2026, 11, 27, 14, 15))
    reply = platform.text("o_wang", "主题党日去不了，临时有事")
    assert "不到 20 分钟" in reply
    assert member_row(app, branch["theme_day"], "王志强")["rsvp"] is None
    clock.set(beijing(2026, 11, 27, 14, 5))
    assert "已收到您的请假" in platform.text("o_wang", "主题党日去不了，临时有事")


def test_leave_for_a_long_absence_covers_every_meeting_in_it(app, platform, fake, branch):
    reply = platform.text("o_liu", "我要外出一个月，这期间的会都请假，去外地打工")
    assert reply.startswith("已收到您 11月21日 至 12月21日 期间的请假，共 2 次会议")
    for kind in ("theme_day", "party_lecture"):
        row = member_row(app, branch[kind], "刘海波")
        assert (row["rsvp"], row["leave_reason"]) == ("leave", "外出，去外地打工")
    numbers = [str(n) for n in db.session.execute(select(MeetingAttendance.id).order_by(
        MeetingAttendance.id)).scalars()]
    assert f"批准 {' '.join(numbers)}" in deliver(app, fake)["o_zhang"][0]
    assert len(platform.text("o_zhang", f"批准 {' '.join(numbers)}").splitlines()) == 2
    assert member_row(app, branch["party_lecture"], "刘海波")["attendance"] == "excused"


def test_rsvp_after_leave_withdraws_it(app, platform, branch):
    platform.text("o_wang", "党课请假，出差")
    number = db.session.execute(select(MeetingAttendance.id)).scalar_one()
    platform.text("o_zhang", f"批准 {number}")
    assert "之前的请假已撤回" in platform.text("o_wang", "党课我能参加了")
    row = member_row(app, branch["party_lecture"], "王志强")
    assert (row["rsvp"], row["attendance"]) == ("yes", None)


def test_nothing_to_answer(app, platform, clock, branch):
    clock.set(beijing(2026, 12, 20, 10))
    assert platform.text("o_wang", "参加") == "近期没有需要报名的会议。"


def test_pushes_wait_for_the_commit(app, fake, branch):
    queue = app.extensions["rq_queue"]
    outbox.notify(1, "welcome_back", "t:1", name="x")
    db.session.rollback()
    assert queue.count == 0
    outbox.notify(1, "welcome_back", "t:2", name="x")
    db.session.commit()
    assert queue.count == 1

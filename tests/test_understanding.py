"""Understood in their own words, and never an action they did not mean (issue 13), through
the real webhook: the held-out sets' floors, asking back and acting on the answer, 撤回,
negation, leaders' questions, a member's own attendance, greetings, and learning from use."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import ROOT
from bot.meetings import planning
from bot.storage.engine import db
from bot.storage.models import (Branch, MeetingAttendance, Member, MemberAction, ReviewItem,
                                StudyCheckin)
from tests.helpers import OPENIDS, beijing, bind, deliver

DATA = ROOT / "tests" / "data"


# The held-out sets (written apart from the corpus, never trained on) --------------------------

# heldout3.tsv was written blind after the model of 2026-11-29 was fixed, and read 0.962 then;
# heldout4.tsv blind on 2026-12-01 (0.972 on first reading, before any change of that day)
@pytest.mark.parametrize("name,floor", [("heldout.tsv", 0.97), ("heldout2.tsv", 0.97),
                                        ("heldout3.tsv", 0.96), ("heldout4.tsv", 0.97)])
def test_held_out_accuracy_and_no_dangerous_confusion(name, floor):
    from datetime import date

    from bot.chat import training

    result = training.evaluate(DATA / name, date(2026, 11, 30))
    assert result.accuracy >= floor, (result.accuracy, result.confusion.most_common(10))
    assert result.dangerous == [], result.dangerous
    assert result.asked_unsure / result.total < 0.05  # asked back from doubt
    assert result.asked / result.total < 0.10  # with asking for a code, an amount …


@pytest.mark.parametrize("name", ["slots.tsv", "slots2.tsv"])
def test_held_out_dates_times_and_durations(name):
    from bot.chat import training

    result = training.evaluate_slots(DATA / name)
    assert result.accuracy >= 0.95, result.wrong[:10]


# Through the webhook --------------------------------------------------------------------------

@pytest.fixture
def branch(app, platform, fake, tmp_path, clock):
    """The test branch bound, December planned (主题党日 4 Dec 14:30 …), 21 Nov 10:00."""
    bind(platform, tmp_path, *OPENIDS.items())
    found = db.session.execute(select(Branch)).scalar_one()
    planning.plan_month(found, 2026, 12, clock())
    db.session.commit()
    return found


def member(name: str) -> Member:
    return db.session.execute(select(Member).where(Member.name == name)).scalar_one()


def rows(name: str) -> list[MeetingAttendance]:
    return list(db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.member_id == member(name).id)).scalars())


def test_negation_is_leave_never_attending(branch, platform):
    reply = platform.text("o_wang", "去不了，要加班")
    assert "已收到您的请假" in reply and "加班" in reply
    assert [r.rsvp for r in rows("王志强")] == ["leave"]


def test_unsure_readings_are_asked_and_the_answer_acts(branch, platform):
    question = platform.text("o_wang", "提醒")
    assert question == "您是要关闭提醒吗？回复 1 关闭提醒，2 不是。"
    assert member("王志强").reminders_muted is False  # nothing changed by asking
    platform.text("o_wang", "1")
    assert member("王志强").reminders_muted is True
    assert platform.text("o_wang", "提醒").startswith("您是要")
    assert platform.text("o_wang", "2") == "好的，那请换个说法告诉我您要办什么，或回复“帮助”。"
    items = db.session.execute(select(ReviewItem).order_by(ReviewItem.id)).scalars().all()
    assert [(i.kind, i.read, i.chosen) for i in items] == [("asked", "mute", "mute"),
                                                          ("asked", "mute", "no")]


def test_an_answer_that_is_neither_1_nor_2_is_read_afresh(branch, platform):
    assert platform.text("o_wang", "提醒").startswith("您是要")
    assert "请假" in platform.text("o_wang", "下次主题党日请假，孩子生病")
    assert member("王志强").reminders_muted is False


def test_a_question_about_others_is_never_ones_own_action(branch, platform):
    platform.text("o_wang", "下次主题党日请假，孩子生病")
    member_reply = platform.text("o_liu", "谁来不了")
    assert "只有支部书记" in member_reply and rows("刘海波") == []
    leader_reply = platform.text("o_zhang", "谁请假了")
    assert "王志强（孩子生病，待批准）" in leader_reply and rows("张建国") == []


def test_leave_after_saying_yes_says_it_replaces_the_yes(branch, platform, fake, clock):
    assert "报名" in platform.text("o_wang", "主题党日我参加")
    asked = platform.text("o_wang", "主题党日我不去了")  # no reason given: asked, nothing changed
    assert "请说一下请假的原因" in asked and "您之前报了名参加，这次改为请假" in asked
    assert rows("王志强")[0].rsvp == "yes"
    told = platform.text("o_wang", "单位临时加班")
    assert "原因：单位临时加班" in told and "您之前报了名参加，这次改为请假" in told
    assert rows("王志强")[0].rsvp == "leave"
    assert "已撤回" in platform.text("o_wang", "撤回")
    assert rows("王志强")[0].rsvp == "yes"  # the 参加 back


def test_undo_within_ten_minutes(branch, platform, fake, clock):
    assert "报名" in platform.text("o_wang", "主题党日我参加")
    assert platform.text("o_wang", "撤回") == "已撤回：报名参加主题党日（12月4日（周五）14:30）。"
    assert rows("王志强") == []
    platform.text("o_wang", "主题党日请假，孩子生病")
    deliver(platform.app, fake)
    assert "已撤回" in platform.text("o_wang", "说错了")
    assert rows("王志强") == []
    sent = deliver(platform.app, fake)
    assert any("王志强撤回了主题党日" in text for text in sent["o_zhang"])
    platform.text("o_wang", "今天学习了党章40分钟")
    assert "今天的学习打卡" in platform.text("o_wang", "不是这个意思")
    assert db.session.execute(select(func.count(StudyCheckin.id))).scalar_one() == 0
    platform.text("o_wang", "今天学习了党章40分钟")
    clock.advance(minutes=11)
    assert "没有可以撤回" in platform.text("o_wang", "撤回")
    actions = db.session.execute(select(MemberAction).order_by(MemberAction.id)).scalars().all()
    assert [(a.kind, a.undone_at is not None) for a in actions] == [
        ("rsvp", True), ("leave", True), ("study", True), ("study", False)]


def test_a_decided_leave_cannot_be_undone(branch, platform):
    platform.text("o_wang", "主题党日请假，孩子生病")
    number = rows("王志强")[0].id
    platform.text("o_zhang", f"批准 {number}")
    assert "已经审批" in platform.text("o_wang", "撤回")
    assert rows("王志强")[0].leave_status == "approved"


def test_leaders_questions(branch, platform, clock):
    platform.text("o_wang", "主题党日请假，孩子生病")
    platform.text("o_liu", "主题党日请假，在外地")
    pending = platform.text("o_li", "待批请假")
    numbers = sorted(r.id for name in ("王志强", "刘海波") for r in rows(name))
    assert "待审批的请假共 2 条" in pending and all(f"编号 {n}" in pending for n in numbers)
    assert pending.endswith(f"例如：批准 {min(numbers)}")  # a number that is there
    assert "2 条待审批" in platform.text("o_li", "同意")  # which one?
    platform.text("o_li", f"批准 {numbers[0]}")
    assert "已批准" in platform.text("o_li", "同意")  # one left: that one
    assert {r.leave_status for name in ("王志强", "刘海波") for r in rows(name)} == {"approved"}
    unbound = platform.text("o_zhang", "谁还没绑定")
    assert "全支部党员都已绑定" in unbound
    assert "共有党员 4 人" in platform.text("o_zhang", "支部有多少人")
    assert "只有支部书记" in platform.text("o_wang", "谁还没绑定")
    answers = platform.text("o_zhang", "到会情况")
    assert "应到 4 人" in answers and "请假 2 人" in answers


def test_a_member_asks_their_own_attendance(branch, platform, clock):
    from bot.meetings import attendance

    meetings = planning.store.in_range(beijing(2026, 12, 1, 0), beijing(2027, 1, 1, 0),
                                       branch.id)
    theme = next(m for m in meetings if m.kind == "theme_day")
    clock.set(beijing(2026, 12, 4, 14, 20))
    platform.text("o_wang", f"签到 {theme.checkin_code}")
    clock.set(beijing(2026, 12, 4, 16))
    attendance.close_finished(clock())
    db.session.commit()
    reply = platform.text("o_wang", "我这个月参加了几次会")
    assert reply.startswith("12月您应参加") and "出席 1 次" in reply


def test_greetings_and_thanks_get_a_warm_word(branch, platform):
    assert platform.text("o_wang", "谢谢书记") == "不客气！有事随时找我。"
    assert platform.text("o_wang", "你好").startswith("王志强同志您好")
    assert "没看懂" not in platform.text("o_wang", "👍")


def test_what_was_not_understood_is_kept_for_review(branch, platform, app, tmp_path,
                                                    monkeypatch):
    from bot.chat import training
    from bot.cli.intents import group

    platform.text("o_wang", "我家那口子说的那个事 我手机号13812345678")
    item = db.session.execute(select(ReviewItem)).scalar_one()
    assert item.kind == "unknown" and "13812345678" not in item.text
    assert not hasattr(item, "member_id")  # the words only, never who
    local = tmp_path / "corpus.tsv"
    monkeypatch.setattr(training, "LOCAL_CORPUS", local)
    runner = app.test_cli_runner()
    listed = runner.invoke(group, ["review"])
    assert f"{item.id}\tunknown" in listed.output
    confirmed = runner.invoke(group, ["review", "--confirm", f"{item.id}=unknown"])
    assert confirmed.exit_code == 0, confirmed.output
    assert local.read_text(encoding="utf-8").startswith("unknown\t我家那口子")
    assert "没有待复核" in runner.invoke(group, ["review"]).output
    assert runner.invoke(group, ["review", "--confirm", "999=nonsense"]).exit_code == 2


def test_review_items_are_dropped_with_the_retention_period(branch, platform, clock):
    from bot.storage.retention import purge

    platform.text("o_wang", "今天天气不错")
    assert db.session.execute(select(func.count(ReviewItem.id))).scalar_one() == 1
    clock.advance(days=181)
    assert purge(clock())["review"] == 1


def test_the_model_is_rebuilt_only_when_the_corpus_changes(app):
    from bot.chat import training

    built = training.build_model()
    assert built.seconds == 0.0 and built.path.exists()  # this corpus: already built
    assert built.path.name == f"intents-{training.corpus_hash()}.npz"


"""Intent classification over realistic phrasings, slot extraction, and the `intent` CLI."""
from __future__ import annotations

import json
from datetime import date

import pytest

from bot.chat.intents import INTENTS, classify

TODAY = date(2026, 11, 21)  # a Saturday

CASES = [
    # bind
    # my_info
    ("我的信息", "my_info", {}),
    ("你们保存了我哪些信息", "my_info", {}),
    ("绑定 12345678", "bind", {"code": "12345678"}),
    ("绑定12345678", "bind", {"code": "12345678"}),
    ("绑定：1234 5678", "bind", {"code": "12345678"}),
    ("綁定 87654321", "bind", {}),
    ("邀请码 23456789", "bind", {"code": "23456789"}),
    ("我要绑定", "bind", {}),
    ("帮定 11223344", "bind", {"code": "11223344"}),
    ("绑定１２３４５６７８", "bind", {"code": "12345678"}),
    # help
    ("帮助", "help", {}),
    ("？", "help", {}),
    ("怎么用啊", "help", {}),
    ("你能做什么", "help", {}),
    ("菜单", "help", {}),
    ("帮组", "help", {}),
    ("HELP", "help", {}),
    # study check-in
    ("学习打卡", "study_checkin", {}),
    ("打卡", "study_checkin", {}),
    ("今天学习了党章第三章40分钟", "study_checkin",
     {"date": "2026-11-21", "duration": {"minutes": 40}, "material": "党章第三章"}),
    ("学了一个钟头二十大报告", "study_checkin", {"duration": {"minutes": 60},
                                                 "material": "二十大报告"}),
    ("昨天补卡，学习党史半小时", "study_checkin", {"date": "2026-11-20",
                                                 "duration": {"minutes": 30}}),
    ("学习心得：要把学到的用在工作中", "study_checkin",
     {"reflection": "要把学到的用在工作中"}),
    ("学习强国学了1.5小时", "study_checkin", {"duration": {"minutes": 90}}),
    ("打咔，今天看了《习近平谈治国理政》第四卷 一个半小时", "study_checkin",
     {"duration": {"minutes": 90}}),
    ("我的学习记录", "study_checkin", {"query": True}),
    ("这个月学了几次", "study_checkin", {"query": True}),
    # meeting sign-in
    ("签到 4821", "meeting_checkin", {"code": "4821"}),
    ("签到4821", "meeting_checkin", {"code": "4821"}),
    ("签到", "meeting_checkin", {}),
    ("4821", "meeting_checkin", {"code": "4821"}),
    ("签道 4821", "meeting_checkin", {"code": "4821"}),
    ("我到了，签到码 0375", "meeting_checkin", {"code": "0375"}),
    ("远程签到 5566", "meeting_checkin", {"code": "5566", "remote": True}),
    ("签到！！", "meeting_checkin", {}),
    # rsvp
    ("参加", "rsvp_yes", {}),
    ("我参加", "rsvp_yes", {}),
    ("准时参加！", "rsvp_yes", {}),
    ("收到，准时参加", "rsvp_yes", {}),
    ("好的，我会去", "rsvp_yes", {}),
    ("党课我参加", "rsvp_yes", {"meeting": "party_lecture"}),
    ("周五的主题党日能参加", "rsvp_yes", {"meeting": "theme_day", "date": "2026-11-27"}),
    ("报名", "rsvp_yes", {}),
    ("一定到", "rsvp_yes", {}),
    # leave
    ("请假", "leave_request", {}),
    ("我请假，孩子生病", "leave_request", {"reason": "孩子生病"}),
    ("周五去不了", "leave_request", {"date": "2026-11-27"}),
    ("周五去不了，要出差", "leave_request", {"date": "2026-11-27", "reason": "出差"}),
    ("12月5日的党课我去不了，要出差", "leave_request",
     {"meeting": "party_lecture", "date": "2026-12-05", "reason": "出差"}),
    ("清假 明天有事", "leave_request", {"date": "2026-11-22", "reason": "有事"}),
    ("下周三的支委会参加不了，在外地培训", "leave_request",
     {"meeting": "committee", "date": "2026-11-25", "reason": "在外地培训"}),
    ("不参加了，身体不舒服", "leave_request", {"reason": "身体不舒服"}),
    ("老母亲住院，这次来不了", "leave_request", {"reason": "老母亲住院"}),
    ("因为加班请假", "leave_request", {"reason": "加班"}),
    ("我要外出一个月，这期间的会都请假", "leave_request", {"duration": {"days": 30}}),
    ("我要外出一个月，这期间的会都请假，去外地打工", "leave_request",
     {"duration": {"days": 30}, "reason": "外出，去外地打工"}),
    # dues
    ("我的党费", "dues_query", {}),
    ("党费", "dues_query", {}),
    ("这个月交了吗", "dues_query", {}),
    ("欠了几个月", "dues_query", {}),
    ("党费标准是多少", "dues_query", {}),
    ("我每月该交多少", "dues_query", {}),
    ("党废交了没", "dues_query", {}),
    ("10月党费交了吗？", "dues_query", {"month": 10}),
    # schedule
    ("下次开会是什么时候", "schedule_query", {}),
    ("这个月主题党日哪天", "schedule_query", {"meeting": "theme_day"}),
    ("党课几点开始", "schedule_query", {"meeting": "party_lecture"}),
    ("最近有什么会", "schedule_query", {}),
    ("支委会在哪开", "schedule_query", {"meeting": "committee"}),
    ("会议安排", "schedule_query", {}),
    # floating report
    ("本月汇报：在苏州，工作正常，参加了当地支部的主题党日", "floating_report",
     {"destination": "苏州"}),
    ("月度汇报", "floating_report", {}),
    ("汇报一下，我现在在深圳打工，一切正常", "floating_report", {"destination": "深圳"}),
    ("我在杭州，一切正常", "floating_report", {"destination": "杭州"}),
    # going out
    ("外出报告：去苏州打工三个月", "outgoing_report",
     {"destination": "苏州", "duration": {"days": 90}, "reason": "打工"}),
    ("我下个月要去广州务工，大概半年", "outgoing_report",
     {"destination": "广州", "duration": {"days": 182}, "reason": "务工"}),
    ("外出务工", "outgoing_report", {"reason": "务工"}),
    ("要去上海读书两年", "outgoing_report", {"destination": "上海", "duration": {"days": 730}}),
    # return
    ("我回来了", "return_report", {}),
    ("返回报告", "return_report", {}),
    ("已返回，昨天到家了", "return_report", {"date": "2026-11-20"}),
    ("回老家了，不出去了", "return_report", {}),
    # ack
    ("收到", "notice_ack", {}),
    ("收到！", "notice_ack", {}),
    ("已阅", "notice_ack", {}),
    ("好的", "notice_ack", {}),
    ("知道了", "notice_ack", {}),
    ("收倒", "notice_ack", {}),
    ("ok", "notice_ack", {}),
    # broadcast
    ("通知：周五下午3点在三楼会议室开主题党日", "broadcast",
     {"content": "周五下午3点在三楼会议室开主题党日"}),
    ("通知:明天上午9点党课", "broadcast", {"content": "明天上午9点党课"}),
    ("发通知 下周一交党费", "broadcast", {"content": "下周一交党费"}),
    ("群发：请大家按时参加", "broadcast", {"content": "请大家按时参加"}),
    # stats
    ("这个月谁没交党费", "stats", {"topic": "dues"}),
    ("通知阅读情况", "stats", {"topic": "notices"}),
    ("出勤率", "stats", {"topic": "attendance"}),
    ("谁还没签到", "stats", {"topic": "attendance"}),
    ("流动党员情况", "stats", {"topic": "floating"}),
    ("统计一下打卡情况", "stats", {"topic": "study"}),
    # unknown
    ("你好", "unknown", {}),
    ("今天天气不错", "unknown", {}),
    ("哈哈哈", "unknown", {}),
    ("😀😀", "unknown", {}),
    ("asdfgh", "unknown", {}),
]


@pytest.mark.parametrize("text,intent,slots", CASES, ids=[c[0] for c in CASES])
def test_realistic_phrasings(text, intent, slots):
    result = classify(text, TODAY)
    assert result.name == intent, (text, result.name, result.slots)
    for key, value in slots.items():
        assert result.slots.get(key) == value, (text, key, result.slots)


def test_every_intent_is_covered():
    assert {c[1] for c in CASES} == set(INTENTS)


@pytest.mark.parametrize("text,expected", [
    ("明天", "2026-11-22"), ("后天", "2026-11-23"), ("前天", "2026-11-19"),
    ("周六", "2026-11-21"), ("星期天", "2026-11-22"), ("下周一", "2026-11-23"),
    ("下下周三", "2026-12-02"), ("这周五", "2026-11-20"), ("礼拜二", "2026-11-24"),
    ("12月5日", "2026-12-05"), ("十二月五号", "2026-12-05"), ("1月3日", "2027-01-03"),
    ("2026-12-31", "2026-12-31"), ("2026年12月1日", "2026-12-01"), ("25号", "2026-11-25"),
    ("5号", "2026-12-05"), ("2月30日", None),
])
def test_dates(text, expected):
    from bot.chat.slots import extract_date

    assert extract_date(text, TODAY) == expected


@pytest.mark.parametrize("text,expected", [
    ("40分钟", {"minutes": 40}), ("1小时20分钟", {"minutes": 80}), ("半小时", {"minutes": 30}),
    ("一个钟头", {"minutes": 60}), ("两个半小时", {"minutes": 150}), ("三个月", {"days": 90}),
    ("两周", {"days": 14}), ("10天", {"days": 10}), ("半年", {"days": 182}),
    ("半个月", {"days": 15}), ("一年", {"days": 365}), ("12月5日", None), ("周五", None),
])
def test_durations(text, expected):
    from bot.chat.slots import extract_duration

    assert extract_duration(text) == expected


def test_vocabulary_lives_in_prompts(tmp_path, monkeypatch):
    """A word added to prompts/intents.toml changes classification without touching code."""
    import shutil

    import bot.chat.intents as intents
    from bot.config import Config, ROOT

    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    toml = prompts / "intents.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '"不会用" = 6', '"不会用" = 6, "咋整" = 9'), encoding="utf-8")
    monkeypatch.setattr(Config, "PROMPTS_DIR", str(prompts))
    monkeypatch.setattr(intents, "_classifier", None)
    assert classify("咋整", TODAY).name == "help"
    monkeypatch.setattr(intents, "_classifier", None)


def test_intent_cli_prints_one_json_line_per_text(app, tmp_path):
    from bot.cli.intents import intent_command

    runner = app.test_cli_runner()
    result = runner.invoke(intent_command, ["我请假，孩子生病", "签到 4821"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [
        {"text": "我请假，孩子生病", "intent": "leave_request", "slots": {"reason": "孩子生病"}},
        {"text": "签到 4821", "intent": "meeting_checkin", "slots": {"code": "4821"}},
    ]
    path = tmp_path / "texts.txt"
    path.write_text("帮助\n\n我的党费\n", encoding="utf-8")
    result = runner.invoke(intent_command, ["--file", str(path)])
    assert [json.loads(x)["intent"] for x in result.output.splitlines()] == ["help", "dues_query"]

"""Notices: drafted in chat and sent only on 确认, to an audience, now, later or after the quiet
hours; a one-tap 收到 inside the 48-hour window, a template and a signed page outside it;
acknowledgements in words, by tap or on the page; 通知情况, 再提醒 once, the digest line; the
CLI and its JSON; platform errors; and a fan-out that never sends twice nor skips anyone."""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import requests
from sqlalchemy import func, select

from bot import digest
from bot.chat import slots
from bot.cli.notices import group as notices_cli
from bot.jobs.notices import run_notices, send_notice_batch
from bot.members import store as member_store
from bot.members.roster import import_file
from bot.notices import rules, sending, store
from bot.storage.engine import db
from bot.storage.models import (Branch, Member, MemberRole, Notice, NoticeRecipient, NoticeSend,
                                OutboundMessage)
from bot.wechat.simulator import menu_options, push_text
from tests.helpers import OPENIDS, ROSTER, beijing, bind, deliver, write_roster
from tests.test_month import month  # noqa: F401  (the month fixture: 40 members, a real worker)

TEXT = "本周五下午3点在村委会召开党员大会，请准时参加"


@pytest.fixture
def branch(app, platform, fake, tmp_path):
    """The test roster, everyone bound; all but 王志强 inside the 48-hour window (he gets
    templates). 张建国 书记, 李红梅 组织委员, 王志强 党小组长, 刘海波 (floating)."""
    bind(platform, tmp_path, *OPENIDS.items())
    for openid in ("o_zhang", "o_li", "o_liu"):
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    return db.session.execute(select(Branch)).scalar_one()


def member(name: str) -> Member:
    return member_store.members_by_name(name)[0]


def pushes(fake, openid: str) -> list[dict]:
    return [d["body"] for d in fake.state.delivered if d["openid"] == openid]


def notices() -> list[Notice]:
    return list(db.session.execute(select(Notice).order_by(Notice.id)).scalars())


def cli(app, *args) -> str:
    """What a command prints on stdout (stderr apart: other tools read stdout)."""
    result = app.test_cli_runner().invoke(notices_cli, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def thirty_unbound_more(app, tmp_path) -> None:
    """党员01 … 党员30 join the branch, none bound: a notice cannot reach them."""
    extra = [f"党员{i:02d},1390000{i:04d},第一党支部,第一党小组,正式党员,,在职,5000,否"
             for i in range(1, 31)]
    import_file(write_roster(tmp_path / "more.csv", [*ROSTER, *extra]), app.config["CLOCK"](),
                "机关党委")


def send_now(platform, text: str = f"通知 全体党员：{TEXT}", by: str = "o_zhang") -> str:
    draft = platform.text(by, text)
    assert "回复“确认”发送" in draft, draft
    return platform.text(by, "确认")


# --- rules and words -----------------------------------------------------------------------

def test_audiences_in_a_secretarys_words():
    groups = ["第一党小组", "第二党小组"]
    for words, audience in [("全体党员", "all"), ("大家", "all"), ("全体", "all"),
                            ("all", "all"), ("支委", "committee"), ("支委会", "committee"),
                            ("委员们", "committee"), ("流动党员", "floating"),
                            ("在外党员", "floating"), ("第一党小组", "group:第一党小组"),
                            ("第二小组", "group:第二党小组"), ("二组", "group:第二党小组"),
                            ("2组", "group:第二党小组"), ("group:第一党小组", "group:第一党小组")]:
        assert rules.parse_audience(words, groups) == audience, words
    for words in ("张三", "第三党小组", "group:第九组", "", "明天"):
        assert rules.parse_audience(words, groups) is None, words
    assert rules.is_valid_audience("group:第二党小组", groups)
    assert not rules.is_valid_audience("group:第三党小组", groups)
    assert not rules.is_valid_audience("everyone", groups)


def test_when_to_send_is_read_only_from_a_last_clause_of_date_and_time_words():
    today = beijing(2026, 11, 30).date()
    assert slots.extract_send_time(f"{TEXT}，明早8点发送", today) == \
        (TEXT, beijing(2026, 12, 1).date(), (8, 0))
    assert slots.extract_send_time("开会通知，下周一上午九点半发", today)[1:] == \
        (beijing(2026, 12, 7).date(), (9, 30))
    for text in (TEXT, "材料请于周五下午5点前发送", "请大家把材料，周五下午发给我", "今晚八点推送"):
        assert slots.extract_send_time(text, today) == (text, None, None), text


# --- drafting in chat ----------------------------------------------------------------------

def test_a_notice_in_one_message_is_shown_back_and_sent_only_on_confirm(app, platform, fake,
                                                                         branch):
    member_store.members_by_name("刘海波")[0].wechat.subscribed = False
    db.session.commit()
    draft = platform.text("o_zhang", f"通知 全体党员：{TEXT}")
    assert "发给：全体党员（不含您自己）共 3 人" in draft
    assert "名单：李红梅、王志强、刘海波" in draft
    assert "其中 1 人已取消关注公众号，收不到：刘海波" in draft
    assert "发送：现在立即发送" in draft and f"内容：{TEXT}" in draft
    assert notices() == [] and deliver(app, fake) == {}  # nothing before 确认
    reply = platform.text("o_zhang", "确认")
    assert reply.startswith("通知 #1 正在发给全体党员 3 人（其中 1 人没绑定微信或已取消关注，收不到")
    told = deliver(app, fake)
    assert set(told) == {"o_li", "o_wang"}  # not the sender; not the one who unfollowed
    li = pushes(fake, "o_li")[0]  # inside the window: the whole text and a one-tap 收到
    assert li["msgtype"] == "msgmenu" and TEXT in li["msgmenu"]["head_content"]
    assert "——张建国" in li["msgmenu"]["head_content"]
    assert menu_options(li) == {"收到": "notice-1"}
    wang = pushes(fake, "o_wang")[0]  # outside: a template, its first words and a link
    assert wang["data"]["thing1"]["value"] == "支部通知"
    assert wang["data"]["thing2"]["value"] == rules.first_words(TEXT)
    assert urlparse(wang["url"]).path.startswith("/notice/")
    assert "【推送】" not in push_text(li) and TEXT in push_text(li)
    found = store.status(notices()[0])
    assert (found.sent, found.delivered, found.failed) == (2, 2, [("刘海波", "已取消关注公众号")])


def test_fa_tongzhi_asks_for_the_text_then_the_audience_and_cancel_drops_it(app, platform, fake,
                                                                            branch, clock):
    assert "请发来通知的内容" in platform.text("o_li", "发通知")
    ask = platform.text("o_li", "周六上午9点打扫活动室")
    assert "发给谁" in ask and "第一党小组、第二党小组" in ask
    again = platform.text("o_li", "隔壁支部")
    assert "没认出“隔壁支部”" in again
    shown = platform.text("o_li", "第二党小组")
    assert "发给：第二党小组共 2 人" in shown and "名单：王志强、刘海波" in shown
    assert platform.text("o_li", "取消") == "好的，这条通知已放弃，没有发出。"
    assert notices() == []
    # a draft waits 30 minutes, no longer: 确认 after that is not a confirmation
    platform.text("o_li", f"通知 支委：{TEXT}")
    clock.advance(minutes=31)
    assert "回复“确认”发送" not in platform.text("o_li", "确认")
    assert notices() == []
    # text and audience typed together after 发通知
    platform.text("o_li", "发通知")
    assert "发给：全体党员" in platform.text("o_li", f"全体党员：{TEXT}")
    assert "还没有发出" in platform.text("o_li", "嗯？")  # not an answer: asked again
    assert platform.text("o_li", "确认").startswith("通知 #1 正在发给全体党员 3 人")


def test_only_the_committee_sends_and_only_the_secretary_or_deputy_marks_urgent(app, platform,
                                                                                branch, clock):
    assert platform.text("o_wang", f"通知 全体党员：{TEXT}") == \
        "只有支部书记、副书记和支委可以发通知、看通知情况。"
    assert "只有支部书记" in platform.text("o_liu", "发通知")
    assert "只有支部书记" in platform.text("o_wang", "通知情况")
    assert notices() == []
    clock.set(beijing(2026, 11, 21, 22, 30))  # quiet hours (21:30–08:00)
    shown = platform.text("o_li", f"紧急通知 全体党员：{TEXT}")
    assert "只有书记、副书记可以发紧急通知" in shown
    assert "将在11月22日（周日）08:00发送" in shown
    assert "已安排在11月22日（周日）08:00" in platform.text("o_li", "确认")
    urgent = platform.text("o_zhang", f"紧急通知 全体党员：{TEXT}")
    assert "请核对这条紧急通知" in urgent and "现在立即发送" in urgent
    platform.text("o_zhang", "确认")
    first, second = notices()
    assert not first.urgent and first.send_at == beijing(2026, 11, 22, 8)
    assert second.urgent and second.send_at == clock()


def test_quiet_hours_hold_a_notice_until_their_end_and_the_planner_waits(app, platform, fake,
                                                                         branch, clock):
    clock.set(beijing(2026, 11, 21, 21, 25))
    assert "现在立即发送" in platform.text("o_zhang", f"通知 全体党员：{TEXT}")
    clock.set(beijing(2026, 11, 21, 21, 40))  # confirmed once the quiet hours began
    assert "已安排在11月22日（周日）08:00" in platform.text("o_zhang", "确认")
    assert run_notices(clock(), inline=True) == []
    clock.set(beijing(2026, 11, 22, 7, 59))
    assert run_notices(clock(), inline=True) == []
    clock.set(beijing(2026, 11, 22, 8, 0))
    [(number, round_, results)] = run_notices(clock(), inline=True)
    assert (number, round_) == (1, 0) and len(results) == 3
    assert notices()[0].status == "sent"


def test_a_scheduled_notice_goes_at_its_time_and_can_be_withdrawn_before(app, platform, fake,
                                                                         branch, clock):
    reply = send_now(platform, f"通知 支委：{TEXT}，明早8点发送")
    assert reply.startswith("通知 #1 已安排在11月22日（周日）08:00发给支委 1 人")
    assert notices()[0].text == TEXT
    assert "将在11月22日（周日）08:00发给支委" in platform.text("o_zhang", "通知情况")
    assert platform.text("o_zhang", "撤回") == f"已撤回：定时通知（{rules.first_words(TEXT)}）。"
    clock.set(beijing(2026, 11, 22, 8))
    assert run_notices(clock(), inline=True) == [] and fake.state.delivered == []
    assert "已经撤销" in platform.text("o_zhang", "通知情况")
    # a notice gone out cannot be recalled: a correction is offered
    send_now(platform)
    assert "微信没法撤回已送达的消息" in platform.text("o_zhang", "撤回")


# --- acknowledgements ----------------------------------------------------------------------

def test_acknowledgements_by_word_by_tap_and_on_the_page(app, platform, fake, branch, clock):
    send_now(platform)
    deliver(app, fake)
    assert platform.text("o_li", "好的").startswith("好的，已确认收到通知")
    assert platform.text("o_li", "收到") == "好的。目前没有需要您确认的通知。"
    tap = platform.message("o_liu", MsgType="text", Content="收到", bizmsgmenuid="notice-1")
    assert tap.startswith("好的，已确认收到通知")
    # 王志强 is outside the window: the template's link, opened, shows the notice whole
    link = urlparse(pushes(fake, "o_wang")[0]["url"]).path
    client = app.test_client()
    page = client.get(link).get_data(as_text=True)
    assert TEXT in page and "<button" in page and "张建国" in page
    assert store.status(notices()[0]).pending == ["王志强"]  # opening it acknowledges nothing
    assert client.post(link).status_code == 303
    assert "您已于11月21日（周六）10:00确认收到" in client.get(link).get_data(as_text=True)
    found = store.status(notices()[0])
    assert found.pending == [] and sorted(found.acknowledged) == ["刘海波", "李红梅", "王志强"]
    vias = dict(db.session.execute(select(NoticeRecipient.member_id, NoticeRecipient.ack_via))
                .all())
    assert vias[member("李红梅").id] == "chat" and vias[member("刘海波").id] == "menu"
    assert vias[member("王志强").id] == "page"
    assert client.get(link[:-3] + "xyz").status_code == 404
    clock.advance(days=31)
    assert client.get(link).status_code == 410


def test_the_newest_notice_first_a_question_when_a_meeting_waits_too_and_undo(
        app, platform, fake, branch, clock):
    from bot.meetings import planning as meetings
    from bot.jobs.meetings import run_reminders

    send_now(platform, f"通知 全体党员：{TEXT}")
    clock.advance(minutes=5)
    send_now(platform, "通知 全体党员：明天上午打扫卫生")
    deliver(app, fake)
    reply = platform.text("o_li", "收到")
    assert "明天上午打扫卫生" in reply and "还有 1 条通知没确认" in reply
    assert platform.text("o_li", "撤回").startswith("已撤回：确认收到通知（明天上午打扫卫生）")
    assert store.status(notices()[1]).pending == ["李红梅", "王志强", "刘海波"]
    # a meeting question is open too: a bare 收到 is asked about; 收到通知 is plain
    meetings.add(branch, "theme_day", beijing(2026, 11, 24, 14, 30), clock(), place="三楼")
    run_reminders(beijing(2026, 11, 21, 14, 30), inline=True)
    clock.set(beijing(2026, 11, 21, 15))
    assert "确认通知请回复“收到通知”" in platform.text("o_li", "收到")
    assert "明天上午打扫卫生" in platform.text("o_li", "收到通知")


def test_template_delivery_results_are_recorded(app, platform, fake, branch):
    send_now(platform)
    deliver(app, fake)
    record = db.session.execute(select(OutboundMessage).where(
        OutboundMessage.member_id == member("王志强").id)).scalar_one()
    assert platform.event("o_wang", "TEMPLATESENDJOBFINISH", MsgID=str(record.wechat_msgid),
                          Status="failed:user block") == ""
    found = store.status(notices()[0])
    assert found.failed == [("王志强", "拒收了公众号的消息")] and found.delivered == 2


# --- the sender's view ---------------------------------------------------------------------

def test_status_in_chat_names_at_most_twenty_and_points_to_the_console(app, platform, fake,
                                                                       branch, tmp_path):
    thirty_unbound_more(app, tmp_path)
    send_now(platform)
    deliver(app, fake)
    platform.text("o_li", "收到")
    report = platform.text("o_zhang", "谁还没回复")
    assert report.startswith("通知 #1（") and "全体党员 33 人）：已送达 3 人，已确认收到 1 人" in report
    assert "未确认 2 人：王志强、刘海波" in report
    assert "没收到 30 人：党员01（未绑定微信）" in report
    assert "另有 12 人未列出" in report and "控制台" in report
    assert report.count("（未绑定微信）") == 18
    assert "回复“再提醒”" in report
    assert platform.text("o_zhang", "通知情况 9") == "没有找到本支部编号为 9 的通知。"


def test_remind_once_only_those_who_received_and_have_not_acknowledged(app, platform, fake,
                                                                       branch, clock):
    send_now(platform)
    deliver(app, fake)
    platform.text("o_li", "收到")
    before = len(fake.state.delivered)
    assert platform.text("o_zhang", "再提醒") == "好的，正在提醒通知 #1 未确认的 2 人（只提醒这一次）。"
    told = deliver(app, fake)
    again = fake.state.delivered[before:]
    assert sorted(d["openid"] for d in again) == ["o_liu", "o_wang"]
    assert "【通知提醒】" in push_text(again[0]["body"]) or \
        again[0]["body"]["data"]["thing1"]["value"] == "通知提醒"
    assert "o_li" in told
    assert "每条通知只提醒一次" in platform.text("o_zhang", "再提醒")
    assert "回复“再提醒”" not in platform.text("o_zhang", "通知情况")
    # in quiet hours a reminder waits for their end
    clock.set(beijing(2026, 11, 21, 23))
    send_now(platform, "紧急通知 全体党员：今晚停电，明天的会照常")
    deliver(app, fake)
    clock.advance(minutes=10)
    later = platform.text("o_zhang", "再提醒 2")
    assert later.startswith("好的，正在提醒通知 #2")  # urgent: not held
    db.session.get(Notice, 2).reminded_at = None  # (once more, as a normal notice)
    db.session.get(Notice, 2).urgent = False
    db.session.execute(NoticeSend.__table__.delete().where(NoticeSend.round == 1,
                                                            NoticeSend.notice_id == 2))
    db.session.commit()
    assert platform.text("o_zhang", "再提醒 2").startswith(
        "现在是休息时间，将在11月22日（周日）08:00提醒")


def test_a_day_later_the_digest_names_the_notice_to_the_secretary_and_the_sender(
        app, platform, fake, branch, clock):
    send_now(platform, by="o_li")  # sent by the 组织委员
    deliver(app, fake)
    platform.text("o_wang", "收到")
    clock.set(beijing(2026, 11, 22, 8, 30))
    assert not any("通知" in r for _, r in digest.run(clock(), dry_run=True))
    clock.set(beijing(2026, 11, 23, 8, 30))
    results = digest.run(clock())
    texts = {d.recipient.name: digest.text_of(d, clock()) for d, _ in results}
    line = "通知 #1（本周五下午3点在村委会召开党员…，11月21日（周六）10:00）还有 2 人未确认"
    assert line in texts["张建国"] and line in texts["李红梅"]


# --- the CLI -------------------------------------------------------------------------------

def test_cli_send_list_show_remind_and_the_json_shape(app, platform, fake, branch, tmp_path,
                                                      clock):
    # two members called 王志强: the secretary tells them apart by the phone's last digits
    import_file(write_roster(tmp_path / "twin.csv", [
        *ROSTER, "王志强,13900000077,第一党支部,第二党小组,正式党员,,在职,5000,否"]), clock(),
        "机关党委")
    out = cli(app, "send", "--branch", "第一党支部", "--to", "group:第二党小组", "--text", TEXT,
              "--by", "张建国")
    assert out.strip() == "1"
    shown = json.loads(cli(app, "show", "1", "--json"))
    assert list(shown) == ["id", "branch", "by", "audience", "text", "created_at", "send_at",
                           "sent", "delivered", "acknowledged", "pending", "failed"]
    assert shown["audience"] == "group:第二党小组" and shown["by"] == "张建国"
    assert shown["created_at"] == "2026-11-21T10:00:00+08:00" == shown["send_at"]
    assert (shown["sent"], shown["delivered"], shown["acknowledged"]) == (2, 2, [])
    assert shown["pending"] == ["王志强（尾号8003）", "刘海波"]
    assert shown["failed"] == [{"name": "王志强（尾号0077）", "reason": "未绑定微信"}]
    listed = json.loads(cli(app, "list", "--branch", "第一党支部", "--json"))
    assert [n["id"] for n in listed] == [1] and listed[0] == shown
    assert "#1\t第一党支部" in cli(app, "list")
    assert "未确认：王志强（尾号8003）、刘海波" in cli(app, "show", "1")
    # scheduled, into the quiet hours, urgent; bad input refused with a reason
    assert cli(app, "send", "--branch", "第一党支部", "--to", "committee", "--text", "x",
               "--at", "2026-11-21 23:00").strip() == "2"
    assert db.session.get(Notice, 2).send_at == beijing(2026, 11, 22, 8)
    cli(app, "send", "--branch", "第一党支部", "--to", "floating", "--text", "y", "--at",
        "2026-11-21 23:00", "--urgent", "--by", "张建国")
    assert db.session.get(Notice, 3).send_at == beijing(2026, 11, 21, 23)
    runner = app.test_cli_runner()
    for args in (["--to", "group:第九党小组"], ["--to", "everyone"], ["--to", "all", "--by", "王志强"],
                 ["--to", "all", "--by", "李红梅", "--urgent"], ["--to", "all", "--at", "明天"]):
        result = runner.invoke(notices_cli, ["send", "--branch", "第一党支部", "--text", TEXT,
                                             *args])
        assert result.exit_code != 0, args
    assert len(notices()) == 3


def test_cli_remind_sends_once(app, platform, fake, branch):
    cli(app, "send", "--branch", "第一党支部", "--to", "all", "--text", TEXT, "--by", "张建国")
    assert "正在提醒通知 #1 未确认的 3 人" in cli(app, "remind", "1")
    assert len(fake.state.delivered) == 6
    result = app.test_cli_runner().invoke(notices_cli, ["remind", "1"])
    assert result.exit_code == 1 and "只提醒一次" in result.output


# --- the platform and the fan-out ----------------------------------------------------------

def test_platform_errors_fall_back_pause_and_mark(app, platform, fake, branch, clock):
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 45015, "openid": "o_li"})
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 40200, "openid": "o_liu"})
    requests.post(f"{fake.url}/_fake/unfollow", json={"openid": "o_wang"})
    send_now(platform)
    deliver(app, fake)
    li = db.session.execute(select(OutboundMessage).where(
        OutboundMessage.member_id == member("李红梅").id)).scalar_one()
    assert [(a["channel"], a["errcode"]) for a in li.attempts] == [("custom", 45015),
                                                                 ("template", 0)]
    liu = pushes(fake, "o_liu")[0]  # the account cannot send a msgmenu: the same words
    assert liu["msgtype"] == "text" and TEXT in liu["text"]["content"]
    found = store.status(notices()[0])
    assert found.failed == [("王志强", "43004 已取消关注公众号")]
    assert member("王志强").reachable is False
    # a quota: the fan-out pauses, nothing is lost; the rest goes on the next run
    send_now(platform, "通知 全体党员：第二条")
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 45009, "count": 1})
    first = run_notices(clock(), inline=True)
    assert "paused (45009)" in first[0][2].values()
    assert run_notices(clock(), inline=True) == []  # paused until the next day
    clock.set(beijing(2026, 11, 22, 8))
    run_notices(clock(), inline=True)
    second = [d["openid"] for d in fake.state.delivered if "第二条" in json.dumps(
        d["body"], ensure_ascii=False)]
    assert sorted(second) == ["o_li", "o_liu"]


def test_sending_twice_or_a_retried_job_never_sends_twice(app, platform, fake, branch, clock):
    platform.text("o_zhang", f"通知 全体党员：{TEXT}")
    platform.text("o_zhang", "确认")
    plans = sending.claim_due(clock())
    db.session.commit()
    [plan] = plans
    assert sending.claim_due(clock()) == []  # claimed already: a second planner finds nothing
    send_notice_batch(plan.notice_id, plan.round, plan.member_ids, plan.claim)
    assert send_notice_batch(plan.notice_id, plan.round, plan.member_ids, plan.claim) == \
        {i: "nothing" for i in plan.member_ids}  # the job retried
    assert run_notices(clock() + timedelta(minutes=11), inline=True) == []
    assert Counter(d["openid"] for d in fake.state.delivered) == {"o_li": 1, "o_wang": 1,
                                                                  "o_liu": 1}


def test_a_worker_that_died_after_the_platform_accepted_sends_nothing_twice(app, platform,
                                                                             fake, branch,
                                                                             clock):
    from bot.wechat import client as wechat
    from bot.wechat import fanout

    send_now(platform)
    [plan] = sending.claim_due(clock())
    db.session.commit()
    kind = sending.NoticeFanout(plan.notice_id, 0)
    api, redis = wechat.client(), app.extensions["redis"]
    for member_id in plan.member_ids[:2]:  # the dead worker's work: calls and journal only
        someone = db.session.get(Member, member_id)
        purpose, values = kind.message(someone, [], clock())
        record, delivery = wechat.prepare(someone, purpose, clock(),
                                          idempotency_key=kind.key(plan.claim, member_id),
                                          **values)
        db.session.commit()
        wechat.deliver(api, delivery, clock())
        fanout.journal(redis, kind.key(plan.claim, member_id), delivery)
    again = run_notices(clock() + timedelta(minutes=11), inline=True)
    assert [len(results) for _, _, results in again] == [1]
    assert Counter(d["openid"] for d in fake.state.delivered) == {"o_li": 1, "o_wang": 1,
                                                                  "o_liu": 1}
    assert store.status(notices()[0]).sent == 3 and notices()[0].status == "sent"


def test_the_stand_in_platform_checks_msgmenu_like_the_real_one(app, fake):
    from bot.wechat import client as wechat

    api = wechat.client()
    requests.post(f"{fake.url}/_fake/interact", json={"openid": "o_x"})
    ok = {"head_content": "h", "list": [{"id": "notice-1", "content": "收到"}],
          "tail_content": "t"}
    assert api.call(api.message.send_msg_menu, "o_x", ok)["errcode"] == 0
    for bad in ({"head_content": "h", "list": []}, {"head_content": "字" * 400, "list": ok["list"]},
                {"list": [{"id": "", "content": "收到"}]}):
        with pytest.raises(wechat.PlatformError) as raised:
            api.call(api.message.send_msg_menu, "o_x", bad)
        assert raised.value.errcode == 47001


def test_help_lists_the_notice_commands_that_work(app, platform, branch):
    leader = platform.text("o_zhang", "帮助")
    assert "通知 全体党员：" in leader and "通知情况" in leader and "再提醒" in leader
    assert "准备中" not in leader
    assert "收到" in platform.text("o_wang", "帮助")
    assert "通知 全体党员：" not in platform.text("o_wang", "帮助")


def test_the_console_lists_every_name_of_a_notice(app, platform, fake, branch, tmp_path):
    from tests.test_console import sign_in

    thirty_unbound_more(app, tmp_path)
    send_now(platform)
    deliver(app, fake)
    client = app.test_client()
    sign_in(platform, client, "o_zhang")
    listing = client.get("/console/notices").get_data(as_text=True)
    assert "#1" in listing and "全体党员 33 人" in listing
    page = client.get("/console/notices/1").get_data(as_text=True)
    assert TEXT in page and "未确认（3 人）" in page and "没收到（30 人）" in page
    assert all(f"党员{i:02d}" in page for i in range(1, 31))
    assert client.get("/console/notices/99").status_code == 404


def test_a_worker_killed_mid_fan_out_neither_repeats_nor_skips_anyone(month, app, fake):
    """A real `rq worker` process, SIGKILLed while its send threads are inside platform calls;
    the next planner run, after the claim went stale, finishes the notice: everyone once."""
    from tests.test_month import OPENIDS as EVERYONE

    month.travel(beijing(2026, 10, 5, 14, 30))
    for openid in EVERYONE.values():
        month.fake_post("/_fake/interact", {"openid": openid})
    assert "共 39 人" in month.say("张建国", f"通知 全体党员：{TEXT}")
    fake.state.latency = 0.05
    month.fake_post("/_fake/hold", {"after": 10})
    month.say("张建国", "确认")  # queued at once for the worker
    month.kill_worker_mid_fan_out()
    assert len(fake.state.delivered) == 10
    db.session.expire_all()
    assert Counter(db.session.execute(select(NoticeSend.status)).scalars())["sending"] == 39
    assert "还有 39 人正在发送中" in month.say("张建国", "通知情况")

    month.travel(beijing(2026, 10, 5, 14, 41))  # the claim is stale: the planner recovers it
    run_notices(month.clock())
    worker = month.worker(burst=True)
    assert worker.wait(120) == 0, month.worker_log.read_text()
    fake.state.latency = 0
    db.session.expire_all()
    per_member = Counter(d["openid"] for d in fake.state.delivered)
    assert set(per_member) == set(EVERYONE.values()) - {"o_zhang"}  # no gap
    assert set(per_member.values()) == {1}  # no duplicate
    assert db.session.execute(select(Notice.status)).scalar_one() == "sent"
    assert "已送达 39 人" in month.say("张建国", "通知情况")
    recovered = db.session.execute(select(func.count()).select_from(NoticeSend).where(
        NoticeSend.note == "recovered")).scalar_one()
    assert recovered == 10  # the journal: accepted before the kill, settled, not resent

"""Dispatch order, ambiguity resolved by context or a question, pending topics."""
from __future__ import annotations

import pytest

from bot.chat import context
from tests.helpers import bind


@pytest.fixture
def bound(app, platform, tmp_path, clock):
    bind(platform, tmp_path, ("张建国", "o_sec"), ("王志强", "o_mem"))
    return platform


@pytest.fixture
def providers():
    saved = (list(context.OPEN_CHECKINS), list(context.PENDING_NOTICES),
             list(context.AWAITING_RSVP))
    yield context
    context.OPEN_CHECKINS[:], context.PENDING_NOTICES[:], context.AWAITING_RSVP[:] = saved


def test_bare_checkin_without_an_open_meeting_is_answered_not_guessed(bound):
    reply = bound.text("o_mem", "签到")
    assert "没有正在签到的会议" in reply and "签到 4821" in reply


def test_bare_checkin_with_an_open_meeting_goes_to_the_meetings_topic(bound, providers):
    providers.OPEN_CHECKINS.append(lambda member, now: ["党课"])
    assert "加会场公布的签到码" in bound.text("o_mem", "签到")  # the sign-in handler asks


def test_bare_ack_with_nothing_pending(bound):
    assert "没有需要您确认的通知" in bound.text("o_mem", "收到")


def test_bare_ack_with_a_notice_and_a_meeting_question_asks_which(bound, providers):
    providers.PENDING_NOTICES.append(lambda member, now: ["通知1"])
    providers.AWAITING_RSVP.append(lambda member, now: ["主题党日"])
    reply = bound.text("o_mem", "收到")
    assert "确认收到通知" in reply and "参加" in reply


def test_context_providers_see_the_member_and_the_clock(bound, providers, clock):
    seen = []
    providers.OPEN_CHECKINS.append(lambda member, now: seen.append((member.name, now)) or [])
    bound.text("o_mem", "签到")
    assert seen == [("王志强", clock())]


def test_notice_commands_reach_the_notices_topic_and_nothing_says_coming_soon(bound):
    assert "这条通知发给谁" in bound.text("o_sec", "通知：周五下午3点开会")
    assert "只有支部书记、副书记和支委" in bound.text("o_mem", "通知阅读情况")
    assert bound.text("o_sec", "通知阅读情况").startswith("还没有发过通知")


def test_unknown_points_to_help(bound):
    assert "帮助" in bound.text("o_mem", "今天天气不错")


def test_every_reply_key_used_in_code_exists_in_prompts():
    """No reply text lives in code: every render('key') names a sentence in prompts/."""
    import re

    from bot.config import ROOT
    from bot.replies import text

    keys = set()
    for path in (ROOT / "bot").rglob("*.py"):
        keys |= set(re.findall(r"""(?:render|Outcome)\(\s*["']([a-z_.]+)["']""",
                               path.read_text(encoding="utf-8")))
    assert len(keys) > 20
    for key in keys:
        assert text(key), key

"""The quarterly check of 三会一课: every requirement met, or a deliberately skipped 支委会
flagged, by CLI and in the secretary's digest two weeks before the quarter ends."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from bot import digest
from bot.meetings import attendance
from bot.meetings import planning as meetings
from bot.cli.meetings import report_group as report_cli
from bot.meetings import store as meeting_store
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, Meeting
from tests.helpers import beijing, bind



@pytest.fixture
def quarter(app, platform, fake, tmp_path, clock):
    """Q4 2026 planned from the default rules; every meeting held but November's 支委会."""
    bind(platform, tmp_path, ("张建国", "o_zhang"))
    branch = db.session.execute(select(Branch)).scalar_one()
    meetings.start_branch(branch, date(2026, 10, 1))  # the whole quarter is kept here
    for month in (10, 11, 12):
        meetings.plan_month(branch, 2026, month, clock())
    for meeting in db.session.execute(select(Meeting).order_by(Meeting.starts_at)).scalars():
        if meeting.kind == "committee" and meeting.starts_at.month == 11:
            meeting.status = "cancelled"  # skipped
            continue
        if meeting.starts_at > beijing(2026, 12, 16):
            continue  # not yet
        someone = next(m for m in store.members_by_name("张建国") + store.members_by_name("王志强")
                       if meeting_store.is_due(meeting, m))
        attendance.set_status(meeting, someone, "present", "test", meeting.starts_at)
        attendance.close(meeting, meeting.starts_at)
    db.session.commit()
    return branch


def run(app, *args):
    return app.test_cli_runner().invoke(report_cli, ["compliance", *args])


def test_the_skipped_committee_is_flagged(app, quarter, clock):
    clock.set(beijing(2026, 12, 16))
    out = run(app, "--quarter", "2026-Q4").output
    assert out.startswith("第一党支部 2026年第4季度 三会一课检查：")
    assert "✓ 本季度支部党员大会：12月11日" in out
    assert "✓ 本季度党课：11月20日" in out
    assert "✓ 10月支委会：10月8日" in out
    assert "✗ 11月支委会：未开" in out
    assert "✓ 11月党小组会（第二党小组）：11月11日" in out
    assert "✗ 12月主题党日" not in out and "✓ 12月主题党日：12月4日" in out
    assert out.strip().endswith("缺：11月支委会。")
    data = json.loads(run(app, "--quarter", "2026-Q4", "--json").output)
    assert data[0]["missing"] == ["11月支委会"]
    committee = [r for r in data[0]["requirements"] if r["kind"] == "committee"]
    assert [(r["period"], r["met"]) for r in committee] == \
        [("2026-10", True), ("2026-11", False), ("2026-12", True)]
    bad = run(app, "--quarter", "2026-Q5")
    assert bad.exit_code == 2 and "YYYY-Q1" in bad.output


def test_the_digest_warns_two_weeks_before_the_quarter_ends(app, quarter, clock):
    def text(day):
        clock.set(beijing(2026, 12, day, 9))
        found = digest.compose(quarter, store.members_by_name("张建国")[0],
                               digest.collect(quarter, clock()))
        return digest.text_of(found, clock())

    assert "三会一课" not in text(16)
    warned = text(17)
    assert "【三会一课提醒】\n· 11月支委会还没开（本季度到12月31日结束）" in warned
    assert "主题党日还没开" not in warned

"""学习打卡: recording a member's study and telling them their own totals.

A check-in records what was studied, for how long, on which day (今天, or 昨天补卡 within the
branch's grace period) and a reflection (心得) when given. One record per member per day by
default: a second check-in the same day adds to it, and the same message sent again adds
nothing (a different message always adds, whatever its minutes). Members see their own figures only; a ranking exists only if the branch turns it on.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from bot.clock import BEIJING, to_beijing
from bot.replies import Outcome, render
from bot.study import rules
from bot.study import store
from bot.members.store import on_roll
from bot.storage.engine import db
from bot.storage.models import Member, StudyCheckin, state_of

RECENT = 5  # records listed by 我的学习记录


def _join(old: str | None, new: str | None) -> str | None:
    if not new or (old and new in old.split("；")):
        return old
    return f"{old}；{new}" if old else new


def digest(text: str | None) -> str | None:
    """What identifies a check-in message: its words, whatever the spacing and punctuation."""
    if not text:
        return None
    words = re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", text))
    return hashlib.sha256(words.encode("utf-8")).hexdigest()[:20] if words else None


def checkin(member: Member, slots: dict, now: datetime, text: str | None = None) -> Outcome:
    """Record a check-in (or add it to the day's record) and answer with the running totals.
    The same message again (`text`) is a repeat and adds nothing; a different one never is."""
    today = to_beijing(now).date()
    day = date.fromisoformat(slots["date"]) if slots.get("date") else today
    problem = rules.date_problem(day, today, member.branch)
    if problem:
        return Outcome(f"study.{problem}", {"days": rules.setting(member.branch, "grace_days")})
    minutes = (slots.get("duration") or {}).get("minutes")
    if minutes is not None and not 0 < minutes <= rules.MAX_MINUTES:
        return Outcome("study.bad_minutes")
    material, reflection = slots.get("material"), slots.get("reflection")
    said = digest(text)
    records = store.records_of_day(member.id, day)
    if said and any(said in (r.digests or []) for r in records):
        return Outcome("study.already", {"day": _day(day, today), **totals(member, now)})
    if len(records) < int(rules.setting(member.branch, "per_day")):
        record = StudyCheckin(member_id=member.id, day=day, seq=len(records) + 1,
                              material=material, minutes=minutes, reflection=reflection,
                              entries=1, digests=[said] if said else [], created_at=now,
                              updated_at=now)
        db.session.add(record)
        before = None
        key = "study.recorded"
    else:
        record = records[-1]
        merged = (_join(record.material, material), _join(record.reflection, reflection))
        if said is None and minutes is None and merged == (record.material, record.reflection):
            return Outcome("study.already", {"day": _day(day, today), **totals(member, now)})
        before = state_of(record, "material", "reflection", "minutes", "entries", "digests",
                          "updated_at")
        record.material, record.reflection = merged
        if minutes is not None:
            record.minutes = (record.minutes or 0) + minutes
        record.entries += 1
        record.digests = [*(record.digests or []), *([said] if said else [])]
        record.updated_at = now
        key = "study.added"
    member.remember("study", [(record, before)], render("undo.study", day=_day(day, today)), now)
    values = {"day": _day(day, today), "what": _what(material, minutes), **totals(member, now)}
    return Outcome(key, values)


REFLECTION_SHOWN = 80  # characters of a 心得 shown in chat (the export has it whole)


def _short(text: str) -> str:
    return text if len(text) <= REFLECTION_SHOWN else text[:REFLECTION_SHOWN] + "…"


def on_behalf(member: Member, slots: dict, leader: Member, now: datetime) -> Outcome:
    """代登记 of a check-in by a leader: recorded as the member's own would be, marked."""
    outcome = checkin(member, slots, now)
    if outcome.key not in ("study.recorded", "study.added"):
        return outcome
    day = date.fromisoformat(slots["date"]) if slots.get("date") else to_beijing(now).date()
    record = store.records_of_day(member.id, day)[-1]
    record.entered_by = f"member:{leader.id}"
    return Outcome("behalf.study", {"name": member.name, "day": _day(day, to_beijing(now).date()),
                                    "what": _what(slots.get("material"), (slots.get("duration")
                                                                          or {}).get("minutes"))})


def _day(day: date, today: date) -> str:
    if day == today:
        return render("study.today")
    if day == today - timedelta(days=1):
        return render("study.yesterday")
    return render("period.day", month=day.month, day=day.day)


def _what(material: str | None, minutes: int | None) -> str:
    parts = [render("study.material", material=material) if material else "",
             render("study.minutes", minutes=minutes) if minutes else ""]
    return "".join(parts)


def totals(member: Member, now: datetime) -> dict:
    """This month's and this year's study days and minutes, the streak, collective study, and
    points when the branch uses them, as reply values (aggregated in SQL)."""
    today = to_beijing(now).date()
    tomorrow = today + timedelta(days=1)
    month_start, year_start = today.replace(day=1), today.replace(month=1, day=1)
    times, month_days, minutes = store.summary(member.id, month_start, tomorrow)
    days = store.days_between(member.id, min(year_start, today - timedelta(days=400)),
                              tomorrow)
    kinds = rules.setting(member.branch, "collective_kinds")
    start = datetime.combine(month_start, datetime.min.time(), tzinfo=BEIJING)
    collective = store.collective(member.id, kinds, start, now)
    values = {"month_days": month_days, "month_times": times, "month_minutes": minutes,
              "year_days": sum(1 for d in days if d >= year_start),
              "streak": rules.streak(days, today),
              "collective": render("study.collective", count=collective) if collective else "",
              "points": ""}
    if rules.setting(member.branch, "points") and times:
        month = store.records_between(member.id, month_start, tomorrow)
        values["points"] = render("study.points", points=sum(
            rules.points(member.branch, r.minutes, bool(r.reflection)) for r in month))
    return values


def record(member: Member, now: datetime) -> Outcome:
    """我的学习记录 / 这个月学了几次: the member's own totals and latest records."""
    recent = store.latest(member.id, RECENT)
    lines = [render("study.record_line", day=render("period.day", month=r.day.month,
                                                    day=r.day.day),
                    what=_what(r.material, r.minutes) or render("study.plain"),
                    reflection=render("study.record_reflection",
                                      reflection=_short(r.reflection)) if r.reflection else "")
             for r in recent]
    key = "study.record" if recent else "study.record_empty"
    return Outcome(key, {"lines": "\n".join(lines), **totals(member, now)})


def ranking(member: Member, now: datetime) -> Outcome:
    """学习排名: only where the branch turned on points and the ranking."""
    branch = member.branch
    if not rules.ranking_visible(branch):
        return Outcome("study.no_ranking")
    today = to_beijing(now).date()
    scores: dict[int, int] = defaultdict(int)
    names = {}
    for who, row in store.branch_month(branch.id, today.replace(day=1),
                                       today + timedelta(days=1)):
        scores[who.id] += rules.points(branch, row.minutes, bool(row.reflection)) or 0
        names[who.id] = who.name
    top = sorted(scores.items(), key=lambda pair: (-pair[1], names[pair[0]]))[:10]
    lines = [render("study.rank_line", rank=i, name=names[mid], points=p)
             for i, (mid, p) in enumerate(top, start=1)]
    return Outcome("study.ranking", {"lines": "\n".join(lines) or render("study.rank_none")})


def nudge_due(members: list[Member], now: datetime) -> set[int]:
    """Whose digest should carry the gentle monthly nudge (no study at all this month, in
    a branch that wants it)? A few queries for any number of members."""
    asked = [m for m in members if rules.setting(m.branch, "nudge")]
    if not asked:
        return set()
    today = to_beijing(now).date()
    start = datetime.combine(today.replace(day=1), datetime.min.time(), tzinfo=BEIJING)
    left = {m.id for m in asked} - store.studied([m.id for m in asked], today.replace(day=1),
                                                 today + timedelta(days=1))
    by_kinds: dict[tuple, list[int]] = {}
    for member in asked:
        if member.id in left:
            kinds = tuple(rules.setting(member.branch, "collective_kinds"))
            by_kinds.setdefault(kinds, []).append(member.id)
    for kinds, ids in by_kinds.items():
        left -= store.attended(ids, list(kinds), start, now)
    return left


def branch_month(branch, now: datetime) -> Outcome:
    """The branch's study this month, for leaders: who studied and how long in all (a
    ranking only where the branch turned points and the ranking on)."""
    here = to_beijing(now).date()
    rows = store.branch_month(branch.id, here.replace(day=1), here)
    people = {member.id for member, _ in rows}
    minutes = sum(record.minutes or 0 for _, record in rows)
    total = db.session.execute(select(func.count(Member.id)).where(
        Member.branch_id == branch.id, on_roll(here))).scalar_one()
    return Outcome("study.branch_month", {"month": here.month, "people": len(people),
                                          "total": total, "checkins": len(rows),
                                          "hours": round(minutes / 60, 1)})

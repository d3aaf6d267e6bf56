"""Floating members (流动党员): going out, monthly reports, coming back, and the contact ledger.

外出报告 is a short dialogue: what is missing (reason, destination, how long, a changed phone)
is asked one question at a time, 取消 stops it, and an unanswered one expires with nothing
saved. Monthly reports are assembled per member and month from one message or several, a
location message included. The branch's contact person logs contacts. Nothing here changes a
member's Party status.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from bot import clock
from bot.chat import outbox
from bot.clock import to_beijing
from bot.chat import slots as S
from bot.replies import Outcome, render
from bot.floating import rules
from bot.members import store as member_store
from bot.members.store import on_roll
from bot.storage.engine import db
from bot.storage.models import (FloatingContact, FloatingPeriod, FloatingReport, Member,
                                state_of)

QUESTIONS = ("reason", "destination", "duration", "phone")
NO_CHANGE = re.compile(r"^(没有|没变|不变|无|否|没|不用|一样|还是原来的?)[。!！]*$")
UNKNOWN = re.compile(r"不确定|不知道|说不好|待定|不一定")
CANCEL = re.compile(r"^(取消|算了|不报了|不用了)[。!！]*$")
PHONE = re.compile(r"1[3-9]\d{9}")


def open_period(member: Member) -> FloatingPeriod | None:
    """The member's current time away (外出 reported, no 返回 yet)."""
    return db.session.execute(select(FloatingPeriod).where(
        FloatingPeriod.member_id == member.id, FloatingPeriod.returned_on.is_(None))
        .order_by(FloatingPeriod.id.desc()).limit(1)).scalar_one_or_none()


PERIOD_FIELDS = ("reason", "destination", "expected_return", "contact_phone",
                 "contact_person_id", "updated_at")
ASK_AGAIN = timedelta(days=7)  # a roster period's missing details are asked this often


def where(period: FloatingPeriod) -> str:
    """Where the member is, as people read it (a roster's mark may not say yet)."""
    return period.destination or render("floating.where_unknown")


def reason_of(period: FloatingPeriod) -> str:
    return period.reason or render("floating.reason_unknown")


def incomplete(period: FloatingPeriod) -> bool:
    """A period from the roster's 流动党员 mark that does not say where or why yet."""
    return period.destination is None or period.reason is None


def away_from_roster(member: Member, left_on: date, now: datetime) -> FloatingPeriod:
    """The roster marks the member 流动党员: away from its 外出日期 (else the import), where
    and why to be asked of the member; an open period is kept (its date set from the roster
    if the roster gives one)."""
    period = open_period(member)
    if period is None:
        contact = contact_person_for(member, to_beijing(now).date())
        period = FloatingPeriod(member_id=member.id, left_on=left_on, source="roster",
                                contact_person_id=contact.id if contact else None,
                                created_at=now, updated_at=now)
        db.session.add(period)
    elif period.source == "roster" and period.left_on != left_on:
        period.left_on, period.updated_at = left_on, now
    return period


def missing_question(member: Member, now: datetime) -> str:
    """The question a floating member from the roster is asked with a reply, until they say
    where and why they are away (at most once a week; "" when nothing is missing)."""
    if not member.is_floating or dialogue(member, now) is not None:
        return ""
    period = open_period(member)
    if period is None or not incomplete(period) or \
            period.asked_at is not None and now - period.asked_at < ASK_AGAIN:
        return ""
    period.asked_at = now
    missing = [render(f"floating.roster_missing_{name}") for name, value in (
        ("destination", period.destination), ("reason", period.reason)) if value is None]
    return render("floating.roster_ask", since=_day(period.left_on), items="、".join(missing))


# --- 外出报告: the dialogue ------------------------------------------------------------------

def dialogue(member: Member, now: datetime) -> dict | None:
    """The 外出报告 waiting for an answer, if any and not expired."""
    return member.dialogue("outgoing", now)


def _save(member: Member, state: dict, now: datetime) -> None:
    member.start_dialogue("outgoing", state, now, rules.DIALOGUE_MINUTES)


def _forget(member: Member) -> None:
    member.end_dialogue()


def start_outgoing(member: Member, slots: dict, text: str, now: datetime) -> Outcome:
    """外出报告：去苏州打工三个月 — take what was said, ask for the rest."""
    period = open_period(member)
    if period is not None and not incomplete(period):
        return Outcome("floating.already_away", {"destination": period.destination,
                                                 "since": _day(period.left_on)})
    today = to_beijing(now).date()
    state = {"reason": slots.get("reason"), "destination": slots.get("destination"),
             "left_on": slots.get("date") if slots.get("date") and
             date.fromisoformat(slots["date"]) >= today else today.isoformat(),
             "days": (slots.get("duration") or {}).get("days"), "return_on": None,
             "phone": None}
    if period is not None:  # the roster's 流动党员 mark: complete it, from the roster's date
        state.update(fill=period.id, left_on=period.left_on.isoformat(),
                     reason=state["reason"] or period.reason,
                     destination=state["destination"] or period.destination)
    found = PHONE.search(text or "")
    if found:
        state["phone"] = found.group(0)
    return _ask_or_finish(member, state, now)


def continue_outgoing(member: Member, state: dict, text: str, now: datetime) -> Outcome:
    """The answer to the question asked last (or 取消)."""
    text = (text or "").strip()
    if CANCEL.match(text):
        _forget(member)
        return Outcome("floating.cancelled")
    asked = state["asked"]
    if asked == "reason":
        found = re.search(r"打工|务工|工作|经商|做生意|上学|求学|读书|进修|探亲|就医|出差|照顾家人", text)
        state["reason"] = found.group(0) if found else text[:20]
    elif asked == "destination":
        state["destination"] = S.extract_destination(text) or text.strip("。，, ")[:20]
    elif asked == "duration":
        days = (S.extract_duration(text) or {}).get("days")
        day = S.extract_date(text, to_beijing(now).date())
        if days:
            state["days"] = days
        elif day:
            state["return_on"] = day
        elif UNKNOWN.search(text):
            state["days"] = 0  # not known yet: fine
        else:
            _save(member, state, now)
            return Outcome("floating.ask_duration_again")
    elif asked == "phone":
        found = PHONE.search(text)
        if found:
            state["phone"] = found.group(0)
        elif NO_CHANGE.match(text):
            state["phone"] = ""
        else:
            _save(member, state, now)
            return Outcome("floating.ask_phone_again")
    _also_from(state, text, now)
    return _ask_or_finish(member, state, now)


def _also_from(state: dict, text: str, now: datetime) -> None:
    """An answer may carry more than was asked (去苏州打工三个月): keep what is still missing."""
    if state["destination"] is None:
        state["destination"] = S.extract_destination(text)
    if state["days"] is None and state["return_on"] is None:
        state["days"] = (S.extract_duration(text) or {}).get("days")
    if state["phone"] is None and PHONE.search(text):
        state["phone"] = PHONE.search(text).group(0)
    if state["reason"] is None:
        found = re.search(r"打工|务工|经商|做生意|上学|求学|读书|进修|探亲|就医|出差", text)
        state["reason"] = found.group(0) if found else None


def _ask_or_finish(member: Member, state: dict, now: datetime) -> Outcome:
    missing = [q for q in QUESTIONS if not _answered(state, q)]
    if missing:
        state["asked"] = missing[0]
        _save(member, state, now)
        return Outcome(f"floating.ask_{missing[0]}")
    _forget(member)
    return _register(member, state, now)


def _answered(state: dict, question: str) -> bool:
    if question == "duration":
        return state["days"] is not None or state["return_on"] is not None
    return state[question] is not None


def _register(member: Member, state: dict, now: datetime) -> Outcome:
    left_on = date.fromisoformat(state["left_on"])
    expected = date.fromisoformat(state["return_on"]) if state["return_on"] else \
        left_on + timedelta(days=state["days"]) if state["days"] else None
    contact = contact_person_for(member, to_beijing(now).date())
    period = db.session.get(FloatingPeriod, state["fill"]) if state.get("fill") else None
    before = state_of(period, *PERIOD_FIELDS) if period is not None else None
    if period is None:
        period = FloatingPeriod(member_id=member.id, left_on=left_on, created_at=now)
        db.session.add(period)
    period.reason, period.destination = state["reason"], state["destination"]
    period.expected_return, period.contact_phone = expected, state["phone"] or None
    period.contact_person_id = period.contact_person_id or (contact.id if contact else None)
    period.updated_at = now
    was = state_of(member, "is_floating", "updated_at")
    member.is_floating, member.updated_at = True, now
    member.remember("outgoing", [(period, before), (member, was)],
                    render("undo.outgoing", destination=period.destination), now)
    values = {"name": member.name, "reason": period.reason, "destination": period.destination,
              "since": _day(left_on), "until": render("floating.until", day=_day(expected))
              if expected else render("floating.until_unknown"),
              "contact": contact.name if contact else render("floating.no_contact_person")}
    _tell_leaders(member, contact, "floating.to_secretary_out", f"floating-out:{period.id}",
                  values, now)
    return Outcome("floating.registered", values)


def contact_person_for(member: Member, day: date) -> Member | None:
    """The branch's contact person for a floating member: the 组织委员, else the 书记 (of
    those in the branch on `day`)."""
    for role in ("organization", "secretary"):
        found = member_store.role_holder(member.branch_id, role, day, besides=member.id)
        if found:
            return found
    return None


def _tell_leaders(member: Member, contact, key: str, idempotency: str, values: dict,
                  now: datetime) -> None:
    told = set()
    leaders = member_store.leaders_of(member.branch_id, to_beijing(now).date())
    for leader in [*leaders, *([contact] if contact else [])]:
        if leader.id != member.id and leader.id not in told:
            told.add(leader.id)
            outbox.notify(leader.id, key, f"{idempotency}:{leader.id}", **values)


def _day(day: date) -> str:
    return render("floating.day", year=day.year, month=day.month, day=day.day)


# --- 返回报告 --------------------------------------------------------------------------------

def report_return(member: Member, slots: dict, now: datetime) -> Outcome:
    """我回来了: floating ends from that day; the secretary is told."""
    period = open_period(member)
    if period is None:
        return Outcome("floating.not_away")
    today = to_beijing(now).date()
    day = date.fromisoformat(slots["date"]) if slots.get("date") else today
    if day > today or day < period.left_on:
        day = today
    changes = [(period, state_of(period, "returned_on", "updated_at")),
               (member, state_of(member, "is_floating", "updated_at"))]
    period.returned_on, period.updated_at = day, now
    member.is_floating, member.updated_at = False, now
    member.remember("return", changes, render("undo.return"), now)
    values = {"name": member.name, "destination": where(period),
              "since": _day(period.left_on), "back": _day(day)}
    contact = db.session.get(Member, period.contact_person_id) if period.contact_person_id \
        else None
    _tell_leaders(member, contact, "floating.to_secretary_back", f"floating-back:{period.id}",
                  values, now)
    return Outcome("floating.returned", values)


# --- 月度汇报 --------------------------------------------------------------------------------

PARTY_LIFE_YES = re.compile(r"(参加|参与)了?.{0,8}(组织生活|支部|党日|党组织|党员活动|党课|学习会)")
PARTY_LIFE_NO = re.compile(r"(没有?|未)(参加|参与)")


def report(member: Member, text: str | None, location: dict | None, now: datetime) -> Outcome:
    """A monthly report, or part of one: where, work, study, Party life at the host."""
    period = open_period(member)
    if period is None:
        return Outcome("floating.report_not_away")
    body = re.sub(r"^(本月|月度|这个月的?)?汇报\s*[:：]?\s*", "", (text or "").strip())
    if location is None and len(body) < 2:
        return Outcome("floating.report_empty")
    if location is not None and not rules.plausible(location["latitude"],
                                                    location["longitude"]):
        return Outcome("floating.implausible_location")
    month = to_beijing(now).strftime("%Y-%m")
    row = db.session.execute(select(FloatingReport).where(
        FloatingReport.member_id == member.id, FloatingReport.month == month)
    ).scalar_one_or_none()
    before = state_of(row, "place", "latitude", "longitude", "content", "party_life", "parts",
                      "updated_at") if row is not None else None
    if row is None:
        row = FloatingReport(member_id=member.id, period_id=period.id, month=month, parts=0,
                             created_at=now)
        db.session.add(row)
    row.parts, row.updated_at = (row.parts or 0) + 1, now
    member.remember("report", [(row, before), (period, state_of(period, "destination",
                                                                "updated_at"))],
                    render("undo.report", month=int(month[5:])), now)
    if location is not None:
        row.latitude = Decimal(str(location["latitude"]))
        row.longitude = Decimal(str(location["longitude"]))
        row.place = location.get("label") or row.place
    if body:
        place = S.extract_destination(body)
        row.place = place if place and not row.place else row.place
        row.content = f"{row.content}；{body}" if row.content else body
        if PARTY_LIFE_NO.search(body):
            row.party_life = False
        elif PARTY_LIFE_YES.search(body):
            row.party_life = True
    if period.destination is None and row.place:  # a roster's mark learns where from here
        period.destination, period.updated_at = row.place[:100], now
    missing = [render(f"floating.missing_{name}") for name, value in (
        ("place", row.place or row.latitude), ("content", row.content),
        ("party_life", row.party_life is not None)) if not value]
    return Outcome("floating.report_saved", {
        "month": int(month[5:]), "part": row.parts,
        "missing": render("floating.report_missing", items="、".join(missing)) if missing
        else render("floating.report_complete")})


# --- the contact ledger ---------------------------------------------------------------------

def log_contact(member: Member, note: str | None, on: date, by: str, now: datetime) -> Outcome:
    """联系了张三，在苏州一切正常: a contact with a floating member, by the branch."""
    period = open_period(member)
    if period is None:
        return Outcome("floating.contact_not_away", {"name": member.name})
    db.session.add(FloatingContact(member_id=member.id, period_id=period.id, contacted_on=on,
                                   note=note, by=by, created_at=now))
    db.session.flush()
    return Outcome("floating.contact_logged", {"name": member.name, "day": _day(on)})


def reported(member: Member, month: str, months: int = 1) -> bool:
    """Has the member sent (part of) a report in the `months` months ending with `month`?"""

    return db.session.execute(select(FloatingReport.id).where(
        FloatingReport.member_id == member.id, FloatingReport.month <= month,
        FloatingReport.month > clock.add_months(month, -months))).first() is not None


def last_report(period: FloatingPeriod) -> date | None:
    day = db.session.execute(select(func.max(FloatingReport.updated_at)).where(
        FloatingReport.period_id == period.id)).scalar_one()
    return to_beijing(day).date() if day else None


def last_contact(period: FloatingPeriod) -> date | None:
    return db.session.execute(select(func.max(FloatingContact.contacted_on)).where(
        FloatingContact.period_id == period.id)).scalar_one()


def overview(branch_id: int, now: datetime) -> list[dict]:
    """Every floating member of the branch: where, since when, last report and contact,
    whether overdue (floating list --json, 流动党员情况)."""
    return [row for _, row in overview_of_members(branch_id, now)]


def overview_of_members(branch_id: int, now: datetime) -> list[tuple[Member, dict]]:
    """(member, their row of the overview) for every floating member of the branch."""
    today = to_beijing(now).date()
    rows = db.session.execute(select(FloatingPeriod, Member).join(
        Member, FloatingPeriod.member_id == Member.id).where(
        Member.branch_id == branch_id, FloatingPeriod.returned_on.is_(None), on_roll(today))
        .order_by(FloatingPeriod.left_on, Member.id)).all()
    out = []
    for period, member in rows:
        report_day, contact_day = last_report(period), last_contact(period)
        latest = max([d for d in (report_day, contact_day) if d], default=period.left_on)
        contact = db.session.get(Member, period.contact_person_id) \
            if period.contact_person_id else None
        out.append((member, {
            "name": member.name, "branch": member.branch.name, "reason": period.reason,
            "where": period.destination, "since": period.left_on.isoformat(),
            "expected_return": period.expected_return.isoformat()
            if period.expected_return else None,
            "contact_person": contact.name if contact else None,
            "last_report": report_day.isoformat() if report_day else None,
            "last_contact": contact_day.isoformat() if contact_day else None,
            "overdue": clock.months_since(latest, today) >=
            rules.setting(member.branch, "overdue_months"),
            "months_away": clock.months_since(period.left_on, today)}))
    return out

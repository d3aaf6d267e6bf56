"""One member changed by a leader on the console: the roster's fields, and a member whose
phone or WeChat changed — unbound and given a new invite, never made twice (a re-import with a
new phone number would create a second member). Each change is kept in console_changes with
who made it and what it was before."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from bot.dues import ledger as dues
from bot.members import rules as org
from bot.members import store
from bot.members.roster import money
from bot.storage.engine import db
from bot.storage.models import InviteCode, Member, MemberRole, WechatUser


# the editable fields as the secretary's own roster names them (its headers)
FIELD_LABELS = {"name": "姓名", "phone": "手机号码", "group": "党小组", "status": "人员类别",
                "roles": "党内职务", "dues_category": "党费类别", "dues_base": "党费基数"}


class Refused(ValueError):
    """A change that cannot be made; args[0] is the prompts key, args[1] its values."""


def _shown(member: Member) -> dict:
    """The member's editable fields, as the form and the audit trail show them."""
    return {"name": member.name, "phone": member.phone,
            "group": member.group.name if member.group else "",
            "status": member.status, "roles": sorted(member.roles),
            "dues_category": member.dues_category or "",
            "dues_base": str(member.dues_base) if member.dues_base is not None else ""}


log = store.log_change  # every change of a member is kept in console_changes


def edit(member: Member, form: dict, by: Member, now: datetime, ttl_days: int) -> list[str]:
    """Apply the form (name, phone, group, status, roles, dues_category, dues_base); the
    names of the fields changed. A new phone unbinds the member's WeChat and issues a new
    invite. Refused, with nothing changed, when a value is wrong. The caller commits."""
    before = _shown(member)
    name = (form.get("name") or "").strip()
    if not name or len(name) > 50:
        raise Refused("roster.no_name" if not name else "roster.long_name", {})
    phone = org.normalise_phone(form.get("phone") or "") if (form.get("phone") or "").strip() \
        else member.phone  # left empty: unchanged (the page shows it masked)
    if phone is None:
        raise Refused("roster.bad_phone", {"value": form.get("phone") or ""})
    if phone != member.phone and db.session.execute(
            select(Member.id).where(Member.phone == phone)).first():
        raise Refused("members.phone_taken", {"phone": org.mask_phone(phone)})
    status = form.get("status") or member.status
    if status not in org.STATUS_LABELS:
        raise Refused("roster.bad_status", {"value": status})
    roles = set(form.get("roles") or [])
    if not roles <= set(org.ROLE_LABELS):
        raise Refused("roster.bad_roles", {"value": "、".join(sorted(roles - set(org.ROLE_LABELS)))})
    category = form.get("dues_category") or None
    if category and category not in org.DUES_CATEGORY_LABELS:
        raise Refused("roster.bad_category", {"value": category, "choices": "/".join(
            org.DUES_CATEGORY_LABELS.values())})
    try:
        base: Decimal | None = money(form.get("dues_base") or "")
    except ValueError as exc:
        raise Refused("members.bad_base", {"reason": str(exc)}) from None
    group_name = (form.get("group") or "").strip()

    member.name, member.phone, member.status = name, phone, status
    member.group = store.get_or_create_group(member.branch, group_name) if group_name else None
    if roles != member.roles:
        member.role_rows = [MemberRole(role=r) for r in sorted(roles)]
    member.dues_category, member.dues_base = category, base
    member.updated_at = now
    db.session.flush()
    after = _shown(member)
    changed = [key for key in before if before[key] != after[key]]
    if not changed:
        return []
    dues.sync_from_roster(member, now)
    log(member.branch_id, by, "member_edit", f"member:{member.id}",
        {key: [before[key], after[key]] for key in changed if key != "phone"} |
        ({"phone": [org.mask_phone(before["phone"]), org.mask_phone(phone)]}
         if "phone" in changed else {}), now)
    if "phone" in changed:
        unbind(member, by, now, ttl_days, reason="phone")
    return changed


def unbind(member: Member, by: Member, now: datetime, ttl_days: int,
           reason: str = "wechat") -> InviteCode:
    """The member's WeChat is unlinked (a new phone, a new WeChat account) and a new invite
    code issued; the old unused codes stop working. The caller commits."""
    user = db.session.execute(select(WechatUser).where(
        WechatUser.member_id == member.id)).scalar_one_or_none()
    if user is not None:
        user.member_id, user.bound_at = None, None
    for old in db.session.execute(select(InviteCode).where(
            InviteCode.member_id == member.id, InviteCode.used_at.is_(None))).scalars():
        old.expires_at = min(old.expires_at, now)
    member.reachable, member.updated_at = True, now
    db.session.flush()
    invite = store.invite_code_for(member, now, ttl_days)
    log(member.branch_id, by, "member_unbind", f"member:{member.id}",
        {"reason": reason, "was_bound": user is not None}, now)
    return invite


def leave(member: Member, day: date | None, to: str, by: Member | str, now: datetime) -> None:
    """转出: the member left the branch on `day` (for `to`, where to, as written): from that day
    meetings, dues, lists and the bot are no longer theirs; what came before is kept. Marking
    one who left again changes the day. Refused, with nothing changed, without a day or with
    one before they joined. The caller commits."""
    if day is None:
        raise Refused("members.leave_no_day", {})
    if member.joined_on is not None and day <= member.joined_on:
        raise Refused("members.leave_before_joining", {"day": member.joined_on.isoformat()})
    to = (to or "").strip()[:100] or None
    before = [member.left_on.isoformat() if member.left_on else None, member.left_to]
    member.left_on, member.left_to, member.updated_at = day, to, now
    member.end_dialogue()  # an unfinished question to them is no longer the branch's
    log(member.branch_id, by, "member_leave", f"member:{member.id}",
        {"left_on": [before[0], day.isoformat()], "left_to": [before[1], to]}, now)
    db.session.flush()


def undo_leave(member: Member, by: Member | str, now: datetime) -> bool:
    """撤销转出 (marked by mistake): the member is in the branch again as if they never left;
    False if they were not marked. The caller commits."""
    if member.left_on is None:
        return False
    log(member.branch_id, by, "member_leave_undone", f"member:{member.id}",
        {"left_on": [member.left_on.isoformat(), None], "left_to": [member.left_to, None]}, now)
    member.left_on, member.left_to, member.updated_at = None, None, now
    db.session.flush()
    return True

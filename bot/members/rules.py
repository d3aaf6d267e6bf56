"""Organisation vocabulary: member status, roles and dues categories, as codes and as printed.

This is the one place that maps the words secretaries use in their rosters to stored codes.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

# 人员类别
STATUSES = {"正式党员": "full", "正式": "full", "预备党员": "probationary", "预备": "probationary"}
STATUS_LABELS = {"full": "正式党员", "probationary": "预备党员"}

# 党内职务. Committee roles run the branch; 委员 covers committee members with other titles.
ROLES = {
    "书记": "secretary", "支部书记": "secretary",
    "副书记": "deputy_secretary", "支部副书记": "deputy_secretary",
    "组织委员": "organization", "宣传委员": "propaganda", "纪检委员": "discipline",
    "委员": "committee_member", "支委": "committee_member", "青年委员": "committee_member",
    "统战委员": "committee_member", "保密委员": "committee_member",
    "党小组长": "group_leader", "小组长": "group_leader", "组长": "group_leader",
    "党员": None, "无": None,
}
ROLE_LABELS = {
    "secretary": "书记", "deputy_secretary": "副书记", "organization": "组织委员",
    "propaganda": "宣传委员", "discipline": "纪检委员", "committee_member": "支委委员",
    "group_leader": "党小组长",
}
COMMITTEE_ROLES = frozenset({"secretary", "deputy_secretary", "organization", "propaganda",
                             "discipline", "committee_member"})
# Roles that see branch-wide figures and decide leave.
LEADER_ROLES = frozenset({"secretary", "deputy_secretary", "organization"})
# Only these may send a notice inside quiet hours (紧急通知): 书记, 副书记.
URGENT_ROLES = frozenset({"secretary", "deputy_secretary"})

# 党费类别 (domain.md, Dues)
DUES_CATEGORIES = {
    "在职": "in_service", "离退休": "retired", "退休": "retired", "离休": "retired",
    "农民": "farmer", "学生": "student", "下岗失业": "unemployed", "失业": "unemployed",
    "低保": "relief", "依靠抚恤或救济": "relief", "依靠抚恤或救济/低保": "relief",
    "个体经营": "self_employed",
}
DUES_CATEGORY_LABELS = {
    "in_service": "在职", "retired": "离退休", "farmer": "农民", "student": "学生",
    "unemployed": "下岗失业", "relief": "低保", "self_employed": "个体经营",
}

YES = {"是", "y", "yes", "1", "true", "√", "流动党员"}
NO = {"否", "n", "no", "0", "false", "", "×"}

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile number from what a spreadsheet holds (spaces, dashes, +86, 1.38e10)."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if re.fullmatch(r"\d+\.0", text):  # Excel turned the number into a float
        text = text[:-2]
    text = re.sub(r"[\s\-()（）]", "", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    return text if _MOBILE.match(text) else None


def mask_phone(phone: str) -> str:
    """138****5678."""
    if not phone or len(phone) < 7:
        return "****"
    return phone[:3] + "****" + phone[-4:]


def parse_roles(raw: str) -> tuple[set[str], list[str]]:
    """Role codes from a 党内职务 cell ('书记、党小组长'); returns (codes, unknown words)."""
    codes: set[str] = set()
    unknown: list[str] = []
    for word in re.split(r"[、,，/;；\s]+", unicodedata.normalize("NFKC", str(raw or "")).strip()):
        if not word:
            continue
        if word in ROLES:
            if ROLES[word]:
                codes.add(ROLES[word])
        else:
            unknown.append(word)
    return codes, unknown


def is_leader(roles: set[str]) -> bool:
    """Secretary, deputy or organisation committee member: sees branch figures."""
    return bool(roles & LEADER_ROLES)


def console_scope(roles: set[str]) -> str | None:
    """What the console shows a member: the branch (书记, 副书记, the 委员), their group (a
    党小组长), or nothing. Changes there are for the leaders (is_leader) only."""
    if roles & COMMITTEE_ROLES:
        return "branch"
    if "group_leader" in roles:
        return "group"
    return None


def may_send_notices(roles: set[str]) -> bool:
    """The secretary, a deputy or any committee member sends notices (domain.md, Notices)."""
    return bool(roles & COMMITTEE_ROLES)


def may_mark_urgent(roles: set[str]) -> bool:
    """Only the 书记 or the 副书记 sends a 紧急通知 (out inside quiet hours)."""
    return bool(roles & URGENT_ROLES)


# On the roll (在册): joined (转入) and transferred out (转出) ----------------------------------
# A member is in the branch from joined_on (None: since the branch's start) up to the day before
# left_on (the day of the 转出; None: still here). Meetings, dues, lists and the bot follow this
# one rule; the SQL form of it is bot.members.store.on_roll.

def left_by(member, day: date) -> bool:
    """Had the member transferred out of the branch (转出) by `day`?"""
    return member.left_on is not None and member.left_on <= day


def on_roll(member, first: date, last: date | None = None) -> bool:
    """Was the member in the branch on `first` (or on any day from `first` to `last`): joined
    by then and not yet transferred out?"""
    joined = member.joined_on is None or member.joined_on <= (last or first)
    return joined and not left_by(member, first)


# 党章's six-month rule (domain.md, Leave and absence; Dues) ------------------------------------
# Without a proper reason, 6 consecutive months of not taking part in organisation life (or not
# paying dues) counts as 自行脱党. Branches talk to the member much earlier. The bot only shows
# the secretary who is approaching the line; it never changes anyone's status.
# Per branch, in Branch.settings["thresholds"]: notice (3) consecutive months: the member
# appears in the secretary's digest; warn (5): the secretary is warned of the 6-month rule.

THRESHOLDS = {"notice": 3, "warn": 5}
RULE_MONTHS = 6  # 党章: 连续六个月


def threshold(branch, key: str) -> int:
    """The branch's threshold `key` (notice / warn), or its default."""
    return int(branch.setting("thresholds", THRESHOLDS)[key])


def missed_organisation_life(statuses: list[str]) -> bool | None:
    """Did a member miss the month's organisation life without leave?

    `statuses` are the member's final statuses at the month's closed meetings. True: absent
    from at least one and present (or remote) at none; False: took part in something, or every
    absence was excused; None: nothing was due that month (the month neither counts nor breaks).
    """
    if not statuses:
        return None
    if any(s in ("present", "remote") for s in statuses):
        return False
    return "absent" in statuses


def consecutive(months: dict[tuple[int, int], bool | None]) -> tuple[int, tuple | None]:
    """(how many months in a row ending with the latest month that counts, the first of them).

    `months` maps (year, month) to True (missed), False (took part / paid) or None (nothing
    was due); months with nothing due are skipped without breaking the run.
    """
    run, first = 0, None
    for month in sorted(months, reverse=True):
        flag = months[month]
        if flag is None:
            continue
        if not flag:
            break
        run, first = run + 1, month
    return run, first


def level(branch, run: int) -> str | None:
    """'warn' (the 6-month rule is near), 'notice', or None for a run of `run` months."""
    if run >= threshold(branch, "warn"):
        return "warn"
    if run >= threshold(branch, "notice"):
        return "notice"
    return None

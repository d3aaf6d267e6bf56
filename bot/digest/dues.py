"""The dues topic's lines: in a member's reminder digest, this month unpaid on the branch's
reminder day; in the secretary's digest, months in a row unpaid (3: a talk; 5: the
6-month rule is near). The bot never marks anyone as having left the Party."""
from __future__ import annotations

from datetime import datetime

from bot.dues import ledger as dues
from bot.digest.core import Item, adds_to_member_digest, contributes, once_a_month
from bot.replies import render
from bot.members import rules as member_rules
from bot.storage.models import Branch


@contributes(50)
def unpaid_months(branch: Branch, now: datetime) -> list[Item]:
    """Members whose dues are unpaid for `notice` / `warn` complete months in a row."""
    month = dues.this_month(now)
    items = []
    for account in dues.branch_accounts(branch.id, month):
        member = account.member
        run, first = account.unpaid_run(month)
        level = member_rules.level(branch, run)
        if level:
            items.append(Item(f"dues_{level}", f"dues:{member.id}:{run}", render(
                f"dues.digest_{level}", name=member.name, months=run,
                since=render("digest.month", year=first[0], month=first[1]),
                rule=member_rules.RULE_MONTHS)))
    return items


@adds_to_member_digest(20)
def dues_unpaid(members: list, now: datetime) -> dict[int, list[str]]:
    """党费: on the branch's reminder day (default the month's 主题党日), this month unpaid."""
    lines = dues.unpaid_reminders(members, now)
    return {member.id: [lines[member.id]] for member in members
            if member.id in lines and once_a_month("dues", member, now)}

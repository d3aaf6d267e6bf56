"""党费 in chat: a member's own figures; a leader records payments and asks who has not paid."""
from __future__ import annotations

import re
from decimal import Decimal

from bot.chat.dispatch import Handler, Incoming
from bot.clock import to_beijing
from bot.dues import ledger as dues
from bot.dues import store
from bot.dues.payments import VOLUNTARY, normalise, parse_amount, parse_method, parse_months
from bot.members.rules import is_leader
from bot.replies import Outcome, render


class DuesQueryHandler(Handler):
    """我的党费 / 这个月交了吗 / 欠了几个月 / 党费标准是多少: only the member's own figures."""

    intents = ("dues_query",)

    def handle(self, msg: Incoming, match) -> str:
        if store.others_named_in(msg.member, msg.text or ""):
            return render("dues.others")
        with_table = bool(re.search(r"标准|怎么算|比例", msg.text or ""))
        return dues.status(msg.member, msg.now, with_table=with_table).render()


class DuesRecordHandler(Handler):
    """记党费 张三 12月 45.00 转账 (secretary, deputy or 组织委员)."""

    group, commands = "commands", ("dues_record",)

    def handle(self, msg: Incoming, match) -> str:
        if not is_leader(msg.member.roles):
            return render("leader_only")
        return record_from_text(msg.member, match.group(1), msg.now).render()


def find_member(leader, token: str) -> tuple[object | None, Outcome | None]:
    """The member a leader names (张三, or 张三8001 by phone tail when names repeat)."""
    match = re.fullmatch(r"(.+?)(\d{4})", token)
    name, tail = (match.group(1), match.group(2)) if match else (token, None)
    found = [m for m in store.branch_members(leader.branch_id) if m.name == name
             and (tail is None or m.phone.endswith(tail))]
    if not found:
        return None, Outcome("dues.unknown_member", {"name": name})
    if len(found) > 1:
        return None, Outcome("dues.same_name", {
            "count": len(found), "name": name, "tail": found[0].phone[-4:],
            "list": "、".join(f"{m.name}（{m.phone_masked}）" for m in found)})
    return found[0], None


def record_from_text(leader, text: str, now) -> Outcome:
    """Parse and record one payment written as 张三 12月 45.00 转账."""
    # a comma separates words, except inside an amount (1,020.00)
    tokens = [t for t in re.split(r"[\s，、;；]+|,(?!\d{3}(?:\D|$))", normalise(text).strip())
              if t]
    if len(tokens) < 2:
        return Outcome("dues.record_how")
    member, problem = find_member(leader, tokens[0])
    if problem:
        return problem
    today = to_beijing(now).date()
    months, amount, voluntary, rest = None, None, False, []
    for token in tokens[1:]:
        if VOLUNTARY.search(token):
            voluntary = True
            token = VOLUNTARY.sub("", token)
            if not token:
                continue
        found = parse_months(token, today) if months is None else None
        if found:
            months = found
        elif amount is None and parse_amount(token) is not None:
            amount = parse_amount(token)
        else:
            rest.append(token)
    method, paid_by = parse_method(" ".join(rest))
    method = method or "cash"
    by = f"member:{leader.id}"
    if amount is None or (months is None and not voluntary):
        return Outcome("dues.record_how")
    if voluntary:
        return dues.record_voluntary(member, amount, method, today, by, now)
    return dues.record(member, months, amount, method, today, by, now, paid_by=paid_by)


class DuesWordsHandler(Handler):
    """李四交了11月党费45元现金: a payment a leader reports in their own words, recorded when
    who, which months and how much are all there (else the exact form is shown)."""

    intents = ("dues_record",)

    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None

    def handle(self, msg: Incoming, match) -> str:
        member, problem = find_member(msg.member, match.slots["name"])
        if problem:
            return problem.render()
        method, paid_by = parse_method(msg.clean or msg.text or "")
        return dues.record(member, match.slots["months"], Decimal(match.slots["amount"]),
                           method or "cash", to_beijing(msg.now).date(),
                           f"member:{msg.member.id}", msg.now, paid_by=paid_by).render()


class DuesUnpaidHandler(Handler):
    """这个月谁没交党费 (leaders): who has the month unpaid, with their arrears."""

    intents = ("stats.dues",)

    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None

    def handle(self, msg: Incoming, match) -> str:
        month = dues.this_month(msg.now)
        label = render("dues.month", year=month[:4], month=int(month[5:]))
        rows = dues.unpaid(msg.member.branch_id, month)
        if not rows:
            return render("dues.all_paid", month=label)
        lines = [render("dues.unpaid_line", name=m.name, amount=line.due,
                        arrears=render("dues.unpaid_arrears", count=n) if n else "")
                 for m, line, n in rows]
        return render("dues.unpaid_list", month=label, count=len(rows), lines="\n".join(lines))


class MemberDuesHandler(Handler):
    """张三的党费 (those who may see the branch ledger: the 书记 and the 组织委员 by default)."""

    intents = ("dues_query.member",)

    def accept(self, msg: Incoming, match):
        return match if dues.may_see_ledger(msg.member) else None

    def handle(self, msg: Incoming, match) -> str:
        named = match.slots.get("name") or ""
        found = store.named_in(msg.member.branch_id, msg.clean or msg.text or "", named)
        if len(found) != 1:
            return render("dues.unknown_member" if not found else "dues.same_name_ask",
                          name=named or (found[0].name if found else ""))
        return dues.status(found[0], msg.now, asked_by=msg.member).render()


HANDLERS = [DuesRecordHandler(), DuesQueryHandler(), DuesWordsHandler(), DuesUnpaidHandler(),
            MemberDuesHandler()]

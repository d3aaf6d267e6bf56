"""Rules of notices (domain.md: Notices; Study's burden rules): who may send, to whom, when.

(Who may send: bot/members/rules.py.) A notice goes to the whole branch (all), its committee (committee), its floating members
(floating) or one Party group (group:NAME): `audience` is stored as those words, the form the
CLI's --to takes. The secretary, a deputy or a committee member sends; only the 书记 or the
副书记 may mark a notice 紧急通知, which alone goes out inside quiet hours. A draft waits 30
minutes for 确认; the rest who have not acknowledged may be reminded once; a notice still
unacknowledged a day after it went out is a line in the digest.
"""
from __future__ import annotations

import re
from datetime import timedelta

DRAFT_MINUTES = 30  # a draft not confirmed by then is dropped
REMIND_ONCE = 1  # 再提醒: once per notice
DIGEST_AFTER = timedelta(days=1)  # unacknowledged this long after sending: a digest line
DIGEST_DAYS = timedelta(days=7)  # … for a week, then the sender asks 通知情况 if need be
CHAT_NAMES = 20  # names shown in chat; the rest are counted (the console lists them)
SHOW_NAMES_UP_TO = 10  # the draft names its recipients when there are this few
AUDIENCES = ("all", "committee", "floating")

# The words a secretary uses for each audience (a group is named by its own name or number).
_WORDS = {
    "all": ("全体党员", "全体同志", "全体", "所有党员", "所有人", "大家", "全支部党员", "全支部",
            "各位党员", "各位同志", "各位", "党员同志们", "全部党员", "全员"),
    "committee": ("支委会成员", "支委委员", "支部委员", "支委会", "支委们", "支委", "委员们",
                  "委员", "班子成员"),
    "floating": ("流动党员", "在外党员", "外出党员", "在外地的党员", "外地党员"),
}
_NUMBER = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9, "十": 10}


def _group_number(text: str) -> int | None:
    found = re.search(r"第?\s*([一二两三四五六七八九十]|\d{1,2})\s*(?:党?小?组)", text)
    if not found:
        return None
    value = found.group(1)
    return int(value) if value.isdigit() else _NUMBER.get(value)


def parse_audience(words: str, groups: list[str]) -> str | None:
    """The audience meant by words (全体党员, 支委, 流动党员, 第一党小组, 二组, group:…, all …)
    among this branch's group names; None if it is none of them."""
    text = re.sub(r"[\s:：,，。]", "", words or "").lower()
    if not text:
        return None
    if text in AUDIENCES:
        return text
    if text.startswith("group:") or text.startswith("group："):
        name = words.split(":", 1)[-1].split("：", 1)[-1].strip()
        return f"group:{name}" if name in groups else None
    for name in sorted(groups, key=len, reverse=True):  # a group by its own name first
        if name and (text == name or text == name.replace("党", "")):
            return f"group:{name}"
    number = _group_number(text)
    if number is not None:
        matches = [g for g in groups if _group_number(g) == number]
        return f"group:{matches[0]}" if len(matches) == 1 else None
    for audience, said in _WORDS.items():
        if text in said or text.rstrip("们") in said:
            return audience
    return None


def is_valid_audience(audience: str, groups: list[str]) -> bool:
    """Is audience one of all / committee / floating / group:<a group of the branch>?"""
    if audience in AUDIENCES:
        return True
    return audience.startswith("group:") and audience[len("group:"):] in groups


def group_of(audience: str) -> str | None:
    """The group's name of a group:NAME audience."""
    return audience[len("group:"):] if audience.startswith("group:") else None


def first_words(text: str, limit: int = 16) -> str:
    """The notice's first words, for a heading or a template field."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"

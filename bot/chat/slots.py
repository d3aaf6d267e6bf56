"""Slot extraction: meeting, date, code, reason, destination, duration and a few more.

Every function takes the normalised text (and `today`, a Beijing date, where dates matter) and
returns plain JSON-able values, so the `intent` CLI can print them as they are.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from bot.chat.numbers import NUMBER, to_number

WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
RELATIVE_DAYS = {"大后天": 3, "后天": 2, "明天": 1, "明日": 1, "今天": 0, "今日": 0, "今晚": 0,
                 "今早": 0, "昨天": -1, "昨日": -1, "昨晚": -1, "前天": -2}
DATE_WORDS = re.compile(rf"({NUMBER})\s*月\s*({NUMBER})\s*[日号]|(?<![月\d])({NUMBER})\s*[号]|"
                        r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
DURATION_WORDS = re.compile(rf"({NUMBER})\s*个?\s*半?\s*(小时|钟头|分钟)|半\s*个?\s*(小时|钟头)")
PUNCT = r"[，,。.！!？?；;：:、\s~～]+"
FILLER = re.compile(r"^(因为|由于|是因为|我|要|得|需要|想|申请|一下|所以|的|了|呢|啊|吧|，)+|"
                    r"(了|呢|啊|吧|哈|的)+$")
# Words in a leave message that are about asking leave, not about why.
LEAVE_WORDS = re.compile(
    r"请个?一?下?长?假|外出请假|去不了|来不了|到不了|参加不了|不能参加|无法参加|没法参加|不参加|"
    r"不能来|不能去|赶不上|赶不回来?|没法去|去不成|来不成|缺席|申请|想|要|我|这次|那天|的会|会议|开会|"
    r"这期间|期间|这段时间|那段时间|都")
# Durations (一个月, 两周, 半年) say how long, not why.
SPAN_WORDS = re.compile(rf"({NUMBER})\s*个?\s*(月|天|周|星期|年)|半\s*个?\s*(月|年)")


def extract_code(text: str, min_len: int = 3, max_len: int = 8) -> str | None:
    """The first standalone run of digits of an acceptable length (invite or sign-in code)."""
    for match in re.finditer(r"(?<![\d.])(\d[\d\s]*\d|\d)(?![\d.])", text):
        digits = re.sub(r"\s", "", match.group(1))
        if min_len <= len(digits) <= max_len:
            tail = text[match.end():match.end() + 2]
            if re.match(r"\s*(分钟|小时|个|天|月|号|日|年|点|元|块|周|次|人)", tail):
                continue
            return digits
    return None


def longest_match(text: str, vocabulary: dict[str, str]) -> str | None:
    """The value of the longest vocabulary word found in text (支部党员大会 before 大会)."""
    for word in sorted(vocabulary, key=len, reverse=True):
        if word in text:
            return vocabulary[word]
    return None


def _year_for(month: int, day: int, today: date) -> date | None:
    try:
        candidate = date(today.year, month, day)
    except ValueError:
        return None
    if candidate < today - timedelta(days=60):
        try:
            candidate = date(today.year + 1, month, day)
        except ValueError:
            return None
    return candidate


def extract_date(text: str, today: date) -> str | None:
    """An ISO date from 今天/明天/周五/下周三/12月5日/5号/2026-12-05, relative to today."""
    match = re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", text)
    if match:
        try:
            return date(*map(int, match.groups())).isoformat()
        except ValueError:
            return None
    match = re.search(rf"({NUMBER})\s*月\s*({NUMBER})\s*[日号]?", text)
    if match:
        month, day = to_number(match.group(1)), to_number(match.group(2))
        if month and day and month == int(month) and day == int(day):
            found = _year_for(int(month), int(day), today)
            return found.isoformat() if found else None
    for word, offset in RELATIVE_DAYS.items():
        if word in text:
            return (today + timedelta(days=offset)).isoformat()
    match = re.search(r"(下下|下个?|这个?|本)?\s*(?:周|星期|礼拜)([一二三四五六日天末1-7])", text)
    if match:
        which, day = match.group(1) or "", WEEKDAYS[match.group(2)]
        monday = today - timedelta(days=today.weekday())
        if which.startswith("下下"):
            return (monday + timedelta(days=14 + day)).isoformat()
        if which.startswith("下"):
            return (monday + timedelta(days=7 + day)).isoformat()
        if which:
            return (monday + timedelta(days=day)).isoformat()
        ahead = (day - today.weekday()) % 7
        return (today + timedelta(days=ahead)).isoformat()
    match = re.search(rf"(?<![月\d])({NUMBER})\s*[号日](?!子)", text)
    if match:
        day = to_number(match.group(1))
        if day and day == int(day) and 1 <= day <= 31:
            month, year = today.month, today.year
            if int(day) < today.day:
                month, year = (1, year + 1) if month == 12 else (month + 1, year)
            try:
                return date(year, month, int(day)).isoformat()
            except ValueError:
                return None
    return None


TIME_WORDS = re.compile(rf"(上午|早上|中午|下午|晚上)?\s*(\d{{1,2}})\s*[:：]\s*(\d{{2}})|"
                        rf"(上午|早上|中午|下午|晚上)?\s*({NUMBER})\s*点\s*(半|({NUMBER})\s*分?)?")


def extract_time(text: str) -> tuple[int, int] | None:
    """(hour, minute) from 15:00 / 下午3点 / 三点半 / 晚上7点30; a bare 1–6 点 is afternoon."""
    match = TIME_WORDS.search(text)
    if not match:
        return None
    if match.group(2):
        part, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    else:
        part, hour = match.group(4), to_number(match.group(5))
        minute = 30 if match.group(6) == "半" else to_number(match.group(7) or "0")
        if hour is None or minute is None or hour != int(hour) or minute != int(minute):
            return None
        hour, minute = int(hour), int(minute)
        if part is None and 1 <= hour <= 6:
            part = "下午"  # nobody meets at 3 in the morning
    if part in ("下午", "晚上") and hour < 12:
        hour += 12
    return (hour, minute) if 0 <= hour <= 23 and 0 <= minute <= 59 else None


def extract_duration(text: str) -> dict | None:
    """{'minutes': N} for study time (40分钟, 一个半小时, 一个钟头) or {'days': N} for time away."""
    text = DATE_WORDS.sub(" ", text)
    minutes = 0.0
    hours = re.search(rf"({NUMBER})\s*个?\s*(半)?\s*(?:小时|钟头|钟)", text)
    if hours:
        minutes += (to_number(hours.group(1)) or 0) * 60 + (30 if hours.group(2) else 0)
    elif re.search(r"半\s*个?\s*(?:小时|钟头)", text):
        minutes += 30
    mins = re.search(rf"({NUMBER})\s*(?:分钟|分)(?!之)", text)
    if mins:
        minutes += to_number(mins.group(1)) or 0
    if minutes:
        return {"minutes": int(round(minutes))}
    units = [(r"个?\s*(?:年)", 365), (r"个\s*月", 30), (r"个?\s*(?:周|星期|礼拜)", 7),
             (r"个?\s*(?:天|日)", 1)]
    for unit, days in units:
        found = re.search(rf"({NUMBER})\s*{unit}(?!\d)", text)
        if found and not re.search(r"(周|星期|礼拜)[一二三四五六日天]", found.group(0)):
            value = to_number(found.group(1))
            if value:
                return {"days": int(round(value * days))}
    if re.search(r"半\s*年", text):
        return {"days": 182}
    if re.search(r"半\s*个\s*月", text):
        return {"days": 15}
    return None


def extract_destination(text: str) -> str | None:
    """Where a member is going or is: 去苏州打工 → 苏州; 我在杭州 → 杭州."""
    match = re.search(
        r"(?:去|到|前往|在|赴)+([\u4e00-\u9fa5]{2,8}?)(?:市|省|县|区)?"
        r"(?=打工|务工|工作|上班|经商|做生意|上学|求学|读书|出差|发展|进修|住|待|了|，|,|。|\s|$|"
        r"[一二两三四五六七八九十半几\d])", text)
    if not match:
        return None
    place = match.group(1)
    if place in {"外地", "外面", "那边", "这边", "当地", "本地", "家里", "单位", "公司"}:
        return None
    return place


def extract_reason(text: str, vocabulary: dict[str, str]) -> str | None:
    """Why a member asks leave: what remains once leave words, dates and meeting names are gone."""
    clauses = []
    for clause in re.split(PUNCT, text):
        for name in sorted(vocabulary, key=len, reverse=True):
            clause = clause.replace(name, "")
        clause = re.sub(r"(下下|下个?|这个?|本)?\s*(周|星期|礼拜)[一二三四五六日天末1-7]", "", clause)
        clause = re.sub(rf"({NUMBER})\s*月\s*({NUMBER})\s*[日号]?|{'|'.join(RELATIVE_DAYS)}", "",
                        clause)
        clause = SPAN_WORDS.sub("", clause)
        clause = LEAVE_WORDS.sub("", clause)
        clause = FILLER.sub("", clause.strip())
        if len(clause) >= 2:
            clauses.append(clause)
    return "，".join(clauses) or None


def extract_after(text: str, pattern: str) -> str | None:
    """The text after a lead-in such as 学习心得： or 通知：, stripped."""
    match = re.search(pattern, text)
    if not match:
        return None
    rest = text[match.end():].strip()
    return rest or None


def extract_material(text: str) -> str | None:
    """What was studied: 今天学习了党章第三章40分钟 → 党章第三章; 学了一个钟头二十大报告 → 二十大报告."""
    text = DURATION_WORDS.sub(" ", text)
    match = re.search(r"(?:学习了|学了|读了|看了|听了|学习|自学)\s*([^，,。；;：:]{2,40}?)\s*(?=[，,。；;]|$)",
                      text)
    if not match:
        return None
    material = re.sub(r"\s+", "", match.group(1))
    material = re.sub(r"^(了|一下)", "", material).strip()
    if not material or material in {"打卡", "心得"} or re.fullmatch(r"[一二两三四五六七八九十半]+个?", material):
        return None
    return material


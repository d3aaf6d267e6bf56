"""Slot extraction: meeting, date, time, code, reason, destination, duration and a few more.

Every function takes the cleaned text (and `today`, a Beijing date, where dates matter) and
returns plain JSON-able values, so the `intent` CLI can print them as they are. Chinese
numerals are read with cn2an (十二月九号, 四八二一, 一百二十).
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import cn2an

from bot.clock import add_months, last_day, month_key

# A number as members write it: 40, 1.5, 十二, 两, 一百二十, 四八二一.
NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两俩三四五六七八九十百千幺]+)"
_SPOKEN_DIGITS = str.maketrans({"幺": "一", "俩": "两"})


def to_number(text: str) -> float | None:
    """The value of '40', '1.5', '三', '十五', '两', '一百二十', '四八二一'; None otherwise."""
    text = (text or "").strip().translate(_SPOKEN_DIGITS)
    if len(text) > 1 and text[0] in "零〇" and not text.isdigit():
        text = text[1:]  # 一个小时零十分钟
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    try:
        return float(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
RELATIVE_DAYS = {"大后天": 3, "后天": 2, "明天": 1, "明日": 1, "明早": 1, "明晚": 1,
                 "明儿": 1, "今天": 0, "今日": 0, "今晚": 0, "今早": 0, "今儿": 0,
                 "昨天": -1, "昨日": -1, "昨晚": -1, "昨儿": -1, "前天": -2}
_RELATIVE = re.compile("|".join(sorted(RELATIVE_DAYS, key=len, reverse=True)))
# Units after a number that make it a duration, a count or money, never a date.
_NOT_A_DATE = r"(?!\s*(?:个|小时|钟|分|天|周|年|倍|元|块|次|人|号楼|楼|层|栋|%|h|min|hour))"
DATE_WORDS = re.compile(
    rf"\d{{4}}\s*[-/.年]\s*\d{{1,2}}\s*[-/.月]\s*\d{{1,2}}\s*[日号]?|"
    rf"({NUMBER})\s*月\s*({NUMBER})\s*[日号]?|(?<![\d.])\d{{1,2}}\s*[./-]\s*\d{{1,2}}(?![\d.]){_NOT_A_DATE}|"
    rf"(?<![月\d])({NUMBER})\s*[号日]")
# Beyond these a duration is a slip of the keyboard, not a duration (a week of study in one
# check-in; ten years away).
MAX_MINUTES, MAX_DAYS = 7 * 24 * 60, 3650
# Study time written in a check-in, cut out before reading what was studied.
DURATION_WORDS = re.compile(rf"({NUMBER})\s*个?\s*[半多]?\s*(小时|钟头|分钟|刻钟)|半\s*个?\s*(小时|钟头)")
PUNCT = r"[，,。.！!？?；;：:、\s~～]+"
FILLER = re.compile(r"^(因为|由于|是因为|我|要|得|需要|想|申请|一下|所以|的|了|呢|啊|吧|，)+|"
                    r"(了|呢|啊|吧|哈|的)+$")
# Words in a leave message that are about asking leave, not about why.
LEAVE_WORDS = re.compile(
    r"请个?一?下?长?假|外出请假|去不了|来不了|到不了|参加不了|不能参加|无法参加|没法参加|不参加|"
    r"不能来|不能去|赶不上|赶不回来?|没法去|去不成|来不成|缺席|申请|想|要|我|这次|那天|的会|会议|开会|"
    r"这期间|期间|这段时间|那段时间|都|下次|这回|那次|"
    r"不(?:去|来|到|过去|过来|参会)了?|那个|这个|那场|这场|那次|大会|小组会")
# Politeness is not a reason either: 我去不了了，不好意思 has none (the bot asks for one).
COURTESY = re.compile(r"不好意思|抱歉|对不起|实在|真是|麻烦(?:您|你)?|谢谢|书记|您好|你好|好的|哈+")
# Durations (一个月, 两周, 半年) say how long, not why.
SPAN_WORDS = re.compile(rf"({NUMBER})\s*个?\s*(月|天|周|星期|年)|半\s*个?\s*(月|年)")


def extract_code(text: str, min_len: int = 3, max_len: int = 8) -> str | None:
    """The first standalone run of digits of an acceptable length (invite or sign-in code);
    a code spoken as words (四八二一, 幺三五七) is read too."""
    text = re.sub(r"[零〇一二三四五六七八九幺两]{3,12}",
                  lambda m: str(int(to_number(m.group()) or 0)) if re.fullmatch(
                      r"[零〇一二三四五六七八九幺两]+", m.group()) and "十" not in m.group()
                  else m.group(), text)
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
    """Month and day without a year: this year's, or next year's when this year's is more
    than 60 days past."""
    try:
        candidate = date(today.year, month, day)
    except (ValueError, OverflowError):
        return None
    if candidate < today - timedelta(days=60):
        try:
            candidate = date(today.year + 1, month, day)
        except (ValueError, OverflowError):
            return None
    return candidate


def _int(text: str) -> int | None:
    value = to_number(text)
    return int(value) if value is not None and value == int(value) else None


# A move: the day that matters is the one after 改到 (明天的会改到礼拜五 → 礼拜五).
_MOVED_TO = re.compile(r"(?:改到|改成|改在|推迟到|推到|延到|延期到|挪到|提前到|换到|调到|放到)")


def extract_date(text: str, today: date) -> str | None:
    """An ISO date from 今天/明早/周五/这周五/下周三/12月5日/十二月九号/12.9/12/4/5号/下个月3号/
    月底/2026-12-05, relative to today (a Beijing date); the new day of a move (改到…); None
    if there is none, or it is no date at all (1月2147483648日)."""
    try:
        moved = _MOVED_TO.search(text)
        found = (_date(text[moved.end():], today) if moved else None) or _date(text, today)
    except (ValueError, OverflowError):
        return None
    return found.isoformat() if found else None


def _date(text: str, today: date) -> date | None:
    if m := re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", text):
        try:
            return date(*map(int, m.groups()))
        except ValueError:
            return None
    if m := re.search(rf"下个?月\s*({NUMBER})\s*[号日]", text):
        day, key = _int(m.group(1)), add_months(month_key(today.year, today.month), 1)
        try:
            return date(int(key[:4]), int(key[5:]), day) if day else None
        except ValueError:
            return None
    if m := re.search(rf"({NUMBER})\s*月\s*({NUMBER})\s*[日号]?", text):
        month, day = _int(m.group(1)), _int(m.group(2))
        if month and day and 1 <= month <= 12:
            return _year_for(month, day, today)
    if m := re.search(rf"(?<![\d.])(\d{{1,2}})\s*[./-]\s*(\d{{1,2}})(?![\d.:：]){_NOT_A_DATE}",
                      text):
        month, day = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and 1 <= day <= 31:
            return _year_for(month, day, today)
    if m := _RELATIVE.search(text):  # the first one said (昨天学了…今天补打卡: 昨天)
        return today + timedelta(days=RELATIVE_DAYS[m.group()])
    if re.search(r"月底|月末", text):
        return last_day(today)
    if m := re.search(r"(下下|下个?|这个?|本|上个?)?\s*(?:周|星期|礼拜)([一二三四五六日天末1-7])", text):
        which, day = m.group(1) or "", WEEKDAYS[m.group(2)]
        monday = today - timedelta(days=today.weekday())
        if which.startswith("下下"):
            return monday + timedelta(days=14 + day)
        if which.startswith("下"):
            return monday + timedelta(days=7 + day)
        if which.startswith("上"):
            return monday + timedelta(days=day - 7)
        if which:
            return monday + timedelta(days=day)
        return today + timedelta(days=(day - today.weekday()) % 7)
    if m := re.search(rf"(?<![月\d.])({NUMBER})\s*[号日](?!子|楼)", text):
        day = _int(m.group(1))
        if day and 1 <= day <= 31:
            month, year = today.month, today.year
            if day < today.day:
                key = add_months(month_key(year, month), 1)
                year, month = int(key[:4]), int(key[5:])
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


TIME_WORDS = re.compile(
    rf"(上午|早上|早晨|清早|中午|下午|傍晚|晚上|夜里|明早|今早|今晚|明晚)?\s*(\d{{1,2}})\s*[:：]\s*(\d{{2}})|"
    rf"(上午|早上|早晨|清早|中午|下午|傍晚|晚上|夜里|明早|今早|今晚|明晚)?\s*({NUMBER})\s*点\s*"
    rf"(半|一刻|三刻|({NUMBER})\s*分?)?")
_EVENING = ("下午", "傍晚", "晚上", "夜里", "今晚", "明晚")


def extract_time(text: str) -> tuple[int, int] | None:
    """(hour, minute) from 15:00 / 下午3点 / 三点半 / 晚上7点30 / 十点 / 七点四十; a bare 1–6 点
    is afternoon, a bare 7–12 点 morning (or noon)."""
    for match in TIME_WORDS.finditer(text):
        if match.group(2):
            part, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
        else:
            part, hour = match.group(4), _int(match.group(5))
            extra = match.group(6) or ""
            minute = {"半": 30, "一刻": 15, "三刻": 45}.get(extra) if extra in (
                "半", "一刻", "三刻") else (_int(match.group(7)) if match.group(7) else 0)
            if hour is None or minute is None:
                continue
            if part is None and 1 <= hour <= 6:
                part = "下午"  # nobody meets at 3 in the morning
        if part in _EVENING and hour < 12:
            hour += 12
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return hour, minute
    return None


_MINUTES = re.compile(rf"(?<![点\d])({NUMBER})\s*(?:分钟|分(?!之|[钟数])|min)", re.I)
_HOURS = re.compile(rf"({NUMBER})\s*(个)?\s*(半|多)?\s*(?:小时|钟头|h\b|hour)", re.I)


def extract_duration(text: str) -> dict | None:
    """{'minutes': N} for study time (40分钟, 一个半小时, 三刻钟, 1小时20分钟, 一个多小时 → 60: the
    floor, never more) or {'days': N} for time away (三天, 两周, 半个月, 半年, 一年半)."""
    text = DATE_WORDS.sub(" ", text)
    text = re.sub(rf"({NUMBER})[来几]", r"\1", text)  # 四十来分钟 → 四十分钟
    text = re.sub(r"(十[一二三四五六七八九])[一二三四五六七八九](?=\s*(?:分钟|分|个|天))",
                  r"\1", text)  # 二十五六分钟 → 二十五 (the floor)
    minutes = 0.0
    if m := _HOURS.search(text):
        hours = to_number(m.group(1)) or 0
        half = m.group(3) == "半" or text[m.end():m.end() + 1] == "半"  # 一个半小时, 一小时半
        minutes += hours * 60 + (30 if half else 0)
    elif re.search(r"半\s*个?\s*(?:多)?\s*(?:小时|钟头)", text):
        minutes += 30
    if m := re.search(r"(?<!点)([一二三两])\s*刻钟?", text):
        minutes += 15 * (to_number(m.group(1)) or 0)
    if m := _MINUTES.search(text):
        minutes += to_number(m.group(1)) or 0
    if minutes:
        return {"minutes": int(minutes)} if minutes < MAX_MINUTES else None
    if m := re.search(rf"({NUMBER})\s*年\s*半", text):
        days = int(round((to_number(m.group(1)) or 0) * 365 + 182))
        return {"days": days} if days <= MAX_DAYS else None
    units = [(r"个?\s*多?\s*(?:年)", 365), (r"(?:个\s*多?|(?<=[两俩]))\s*月", 30),
             (r"个?\s*多?\s*(?:周|星期|礼拜)", 7), (r"多?\s*(?:天|日)", 1)]
    for unit, days in units:
        found = re.search(rf"({NUMBER})\s*{unit}(?!\d)", text)
        if found and not re.search(r"(周|星期|礼拜)[一二三四五六日天]", found.group(0)):
            value = to_number(found.group(1))
            if value:
                return {"days": int(round(value * days))} if value * days <= MAX_DAYS else None
    if re.search(r"半\s*年", text):
        return {"days": 182}
    if re.search(r"半\s*个\s*月", text):
        return {"days": 15}
    return None


_SPAN = re.compile(r"(这|本|下)个?\s*(周|星期|礼拜|月)(?![一二三四五六日天末1-7])")


def extract_span(text: str, today: date) -> list[str] | None:
    """The days a schedule question asks about: 这周/本周 (Monday to Sunday of today's week),
    下周, 这个月/本月, 下个月 → (first, last) ISO dates; None if it names no such span."""
    found = _SPAN.search(text)
    if not found:
        return None
    if found.group(2) == "月":
        first = today.replace(day=1)
        if found.group(1) == "下":
            first = last_day(first) + timedelta(days=1)
        last = last_day(first)
    else:
        first = today - timedelta(days=today.weekday()) + timedelta(
            days=7 if found.group(1) == "下" else 0)
        last = first + timedelta(days=6)
    return [first.isoformat(), last.isoformat()]


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
        clause = DATE_WORDS.sub("", clause)
        clause = SPAN_WORDS.sub("", clause)
        clause = LEAVE_WORDS.sub("", clause)
        clause = COURTESY.sub("", clause)
        clause = FILLER.sub("", clause.strip())
        if len(clause) >= 2:
            clauses.append(clause)
    return "，".join(clauses) or None


# How a leader names another member: 联系了张三 / 和刘海波通了电话 / 张三的党费 / 给李四打电话.
_PERSON = re.compile(r"(?:联系了?|联系过|走访了?|和|跟|给|与|问了?|找了?)\s*([\u4e00-\u9fa5]{2,3}?)"
                     r"(?=通|打|聊|视频|联系|说|的|，|,|。|\s|他|她|$)|"
                     r"^([\u4e00-\u9fa5]{2,3}?)(?=的党费|党费|交了|缴了|这个月|上个月|同志)")
_NOT_A_PERSON = {"大家", "他们", "我们", "书记", "支部", "党员", "老伴", "家里", "单位", "他", "她"}
# A surname then one or two characters: not a name when it ends in one of these (马志强缴 →
# 马志强), or when it is a word that starts with a surname's character (周五, 方便, 明白 …).
_NOT_A_NAME_END = "交缴党家视微打聊说在的了已跟和给是今昨这那电发回吧呢啊都也还又就才去来到"
_NOT_A_NAME = re.compile(r"周[一二三四五六日天末内]|于是|方便|方面|白天|高兴|万一|钱[交给]|向书|"
                         r"任何|江湖|金额|石头|史上|程序|余额|段时|龙头|常")


def extract_person(text: str, surnames: str = "") -> str | None:
    """The member a leader names (a name is checked against the roster by the handler):
    after a word of contact or before 党费 (联系了张三, 张三的党费), else the first surname of
    `surnames` with one or two characters after it that end like a name (马志强缴纳党费,
    联系流动党员王芳, 刚和周伟视频了)."""
    for match in _PERSON.finditer(text):
        name = match.group(1) or match.group(2)
        if name and name not in _NOT_A_PERSON and not re.search(r"[月年天周次个我你]", name):
            return name
    if not surnames:
        return None
    for match in re.finditer(f"[{surnames}][\u4e00-\u9fa5]{{1,2}}", text):
        name = re.sub(r"[今明昨前后][天年晚早].*", "", match.group()).rstrip(_NOT_A_NAME_END)
        if len(name) >= 2 and name not in _NOT_A_PERSON and not _NOT_A_NAME.match(name):
            return name
    return None


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



# 明早8点发送 / 12月1日上午9点发出 / 今晚八点推送: when a notice should go, said at its end,
# in nothing but date and time words (材料请于周五下午5点前发送 is the notice's own content).
_SEND_AT = re.compile(
    r"[，,。；;\s]+(?:请于|请在|于|在)?\s*(?P<when>[^，,。；;:：]{1,16}?)\s*(?:再|定时)?"
    r"(?:发送|发出|发布|推送|群发|发)(?:出去|通知)?[。.!！]*\s*$")
_WHEN_ONLY = re.compile(
    rf"(?:大后天|后天|明天|明日|明早|明晚|今天|今早|今晚|(?:下下|下个?|这个?|本)?(?:周|星期|礼拜)"
    rf"[一二三四五六日天1-7]|{NUMBER}\s*月\s*{NUMBER}\s*[日号]?|\d{{1,2}}[./-]\d{{1,2}}|"
    rf"上午|下午|早上|早晨|晚上|中午|傍晚|\d{{1,2}}[:：]\d{{2}}|{NUMBER}\s*点(?:半|一刻|三刻|"
    rf"{NUMBER}\s*分?)?|整|的|\s)+")


def extract_send_time(text: str, today: date) -> tuple[str, date | None, tuple[int, int] | None]:
    """A notice's own words and when it should go, when its last clause says so (…，明早8点
    发送): (the text without that clause, the date, the time); the text unchanged otherwise."""
    match = _SEND_AT.search(text)
    if not match or not _WHEN_ONLY.fullmatch(match.group("when")):
        return text, None, None
    rest = text[:match.start()].rstrip(" ，,。；;")
    words = match.group("when")
    try:
        day = _date(words, today)
    except (ValueError, OverflowError):
        day = None
    clock_time = extract_time(words)
    if not rest or (day is None and clock_time is None):
        return text, None, None
    return rest, day, clock_time

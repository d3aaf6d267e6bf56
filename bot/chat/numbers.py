"""Chinese and Arabic numerals as they appear in members' messages (三, 两, 十五, 1.5, 半)."""
from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}
NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+)"
_CN = re.compile(r"^[零〇一二两三四五六七八九十百]+$")


def to_number(text: str) -> float | None:
    """The value of '40', '1.5', '三', '十五', '二十', '一百二十'; None if it is not a number."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not _CN.match(text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = DIGITS[ch]
    return float(total + current)

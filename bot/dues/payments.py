"""Reading a dues payment as secretaries write it: amounts, months, how it was paid.

记党费 张三 12月 45.00 转账 / 记党费 张三8001 10-12月 ￥135 李四代交 / 记党费 王五 自愿多交 100元
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.clock import month_key, months_between

METHODS = {"现金": "cash", "转账": "transfer", "银行": "transfer", "微信": "online",
           "支付宝": "online", "线上": "online", "网上": "online", "在线": "online",
           "代交": "proxy", "代缴": "proxy"}
METHOD_LABELS = {"cash": "现金", "transfer": "转账", "online": "线上", "proxy": "代交"}
_MONTH = r"(?:(\d{4})\s*[年\-/.]\s*)?(\d{1,2})\s*月?"


def normalise(text: str) -> str:
    """Full-width digits and signs to half-width (４５．００ → 45.00)."""
    return unicodedata.normalize("NFKC", text or "")


VOLUNTARY = re.compile(r"自愿|多交")  # 自愿多交: an extra payment, never a monthly due


def parse_amount(text: str) -> Decimal | None:
    """45 / 45.00 / 1,234.50 / ￥45 / 45元 / ４５．００ → Decimal; None if not an amount."""
    cleaned = re.sub(r"[,，\s]|元|块|¥|￥|RMB|rmb", "", normalise(text))
    if not re.fullmatch(r"[+-]?\d{1,9}(\.\d{1,2})?", cleaned):  # no one pays a billion
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern above rules it out
        return None


def _year_for(month: int, today: date) -> int:
    """The year a bare month means: this month, the next two, else the past year's."""
    ahead = (month - today.month) % 12
    if ahead == 0:
        return today.year
    if ahead <= 2:
        return today.year + (month < today.month)
    return today.year - (month > today.month)


def parse_months(text: str, today: date) -> list[str] | None:
    """12月 / 2027年1月 / 10-12月 / 10月至12月 / 2026-11至2027-01 → ['2026-10', …]."""
    text = normalise(text).strip()
    match = re.fullmatch(rf"{_MONTH}\s*(?:至|到|-|—|~|～)\s*{_MONTH}", text) or \
        re.fullmatch(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*(?:至|到|~|～|—)\s*(\d{4})\s*[-/.]\s*"
                     r"(\d{1,2})", text)
    if match:
        y1, m1, y2, m2 = match.groups()
        if not (1 <= int(m1) <= 12 and 1 <= int(m2) <= 12):
            return None
        first_year = int(y1) if y1 else _year_for(int(m1), today)
        first = month_key(first_year, int(m1))
        if y2:
            last = month_key(int(y2), int(m2))
        else:
            last = month_key(first_year, int(m2))
            if last < first:  # 11-1月: over the new year
                last = month_key(first_year + 1, int(m2))
        found = months_between(first, last)
        return list(found) if 0 < len(found) <= 24 else None
    match = re.fullmatch(rf"{_MONTH}", text)
    if match and "月" in text or re.fullmatch(r"\d{4}\s*[-/.]\s*\d{1,2}", text):
        year, month = (re.fullmatch(rf"{_MONTH}", text) or match).groups()
        if not 1 <= int(month) <= 12:
            return None
        return [month_key(int(year) if year else _year_for(int(month), today), int(month))]
    return None


def parse_method(text: str) -> tuple[str | None, str | None]:
    """(method code, who paid for the member if 代交) from 转账 / 李四代交 / 由李四代交."""
    text = normalise(text)
    match = re.search(r"(?:由)?([\u4e00-\u9fa5]{2,4}?)(?:代交|代缴)", text)
    if match and match.group(1) not in ("由", "亲属"):
        return "proxy", match.group(1)
    for word, code in METHODS.items():
        if word in text:
            return code, None
    return None, None


_MONTHS_IN = re.compile(r"(?:\d{4}\s*年\s*)?\d{1,2}\s*(?:[-—~～至到]\s*(?:\d{4}\s*年\s*)?\d{1,2}\s*)?月")
_AMOUNT_IN = re.compile(r"[¥￥]\s*\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s*(?:元|块)")


def parse_months_in(text: str, today: date) -> list[str] | None:
    """The months a payment in free words covers (李四交了10-12月的党费 → three months)."""
    found = _MONTHS_IN.search(normalise(text))
    return parse_months(found.group(), today) if found else None


def parse_amount_in(text: str) -> str | None:
    """The amount in free words (交了45元 / ￥135), as text (JSON-able); None if none."""
    found = _AMOUNT_IN.search(normalise(text))
    amount = parse_amount(found.group()) if found else None
    return str(amount) if amount is not None else None

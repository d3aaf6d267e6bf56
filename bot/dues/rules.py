"""The dues table (domain.md, Dues; 2008 rules), implemented once.

Monthly dues = base × rate, the rate applying to the **whole** base (3,000.00 pays 15.00;
3,000.01 pays 30.00). Money is Decimal, rounded to the fen (half up), never a float.

Per branch, in Branch.settings["dues"]: {"farmer_amount": "0.20"} (0.20 to 1.00 a month), and
"reminder_day": the day of the month members with the month unpaid see a line in their digest
(default: the day of the month's 主题党日).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
# (upper bound of the base, inclusive; rate). None: no upper bound.
SALARY_RATES = [(Decimal("3000.00"), Decimal("0.005")), (Decimal("5000.00"), Decimal("0.01")),
                (Decimal("10000.00"), Decimal("0.015")), (None, Decimal("0.02"))]
PENSION_RATES = [(Decimal("5000.00"), Decimal("0.005")), (None, Decimal("0.01"))]
RATES = {"in_service": SALARY_RATES, "self_employed": SALARY_RATES, "retired": PENSION_RATES}
FIXED = {"student": Decimal("0.20"), "unemployed": Decimal("0.20"), "relief": Decimal("0.20")}
FARMER_RANGE = (Decimal("0.20"), Decimal("1.00"))
MAX_BASE = Decimal("1000000.00")  # a monthly base above this is a typo
ADVANCE_MONTHS = 6  # 预交 up to 6 months ahead
DEFAULTS = {"farmer_amount": "0.20", "reminder_day": None,
            "viewers": ["secretary", "organization"]}  # who sees the branch ledger


class DuesError(ValueError):
    """A base or amount the rules do not allow; args[0] is the prompts key, args[1] values."""


def setting(branch, key: str):
    """The branch's dues setting `key`, or its default."""
    return branch.setting("dues", DEFAULTS)[key]


def money(value) -> Decimal:
    """A Decimal rounded to the fen."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def rate_for(category: str, base: Decimal) -> Decimal:
    """The rate for the whole base of a salaried, self-employed or retired member."""
    for upper, rate in RATES[category]:
        if upper is None or base <= upper:
            return rate
    raise AssertionError("unreachable")  # pragma: no cover


def monthly(category: str, base: Decimal | None, amount: Decimal | None = None,
            branch=None) -> tuple[Decimal, Decimal | None]:
    """(monthly dues, the rate used or None for a fixed amount). DuesError if not computable."""
    if category in RATES:
        if base is None:
            raise DuesError("dues.no_base", {})
        if base < 0 or base > MAX_BASE:
            raise DuesError("dues.bad_base", {"base": base})
        rate = rate_for(category, base)
        return money(base * rate), rate
    if category == "farmer":
        value = money(amount if amount is not None else
                      (setting(branch, "farmer_amount") if branch is not None else "0.20"))
        low, high = FARMER_RANGE
        if not low <= value <= high:
            raise DuesError("dues.bad_farmer", {"amount": value})
        return value, None
    if category in FIXED:
        return FIXED[category], None
    raise DuesError("dues.no_category", {})


"""Floating-member rules (domain.md, Floating members): 一人一台帐、一月一联系、一月一汇报.

Per branch, in Branch.settings["floating"] (defaults below):
    report_months    a report is expected every this many months (1: monthly)
    remind_days      the member's digest reminds this many days before the month ends (3)
    overdue_months   no report and no contact for this long: the contact person and the
                     secretary see it in their digests (2)
    lost_months      no contact at all for this long: the lost-contact warning (6)
    transfer_months  away this long: suggest transferring the 组织关系 (6)
The bot only reminds and shows; it decides nothing about a member's status.
"""
from __future__ import annotations

from datetime import date

from bot.clock import last_day

DEFAULTS = {"report_months": 1, "remind_days": 3, "overdue_months": 2, "lost_months": 6,
            "transfer_months": 6}
DIALOGUE_MINUTES = 30  # an 外出报告 left unanswered this long is dropped, nothing saved
# Roughly China and its neighbours: a location message far outside is not believed.
PLAUSIBLE = {"lat": (3.0, 54.0), "lon": (73.0, 136.0)}


def setting(branch, key: str) -> int:
    """The branch's floating-member setting `key`, or its default."""
    return int(branch.setting("floating", DEFAULTS)[key])



def plausible(latitude: float, longitude: float) -> bool:
    """Could a member be reporting from there (not 0,0, not the open ocean far away)?"""
    if abs(latitude) < 0.01 and abs(longitude) < 0.01:
        return False
    low, high = PLAUSIBLE["lat"]
    west, east = PLAUSIBLE["lon"]
    return low <= latitude <= high and west <= longitude <= east


def month_end_near(today: date, branch) -> bool:
    """Is today within the last `remind_days` days of its month?"""
    return (last_day(today) - today).days < setting(branch, "remind_days")

"""Thresholds the secretary must see (domain.md, Leave and absence; Dues).

党章: 6 consecutive months of not taking part in organisation life (or not paying dues) without
a proper reason counts as 自行脱党. Branches talk to the member much earlier. The bot only shows
the secretary who is approaching the line; it never changes anyone's status.

Per branch, in Branch.settings["thresholds"] (defaults below):
    notice  3   consecutive months: the member appears in the secretary's digest
    warn    5   consecutive months: the secretary is warned of the 6-month rule
"""
from __future__ import annotations

DEFAULTS = {"notice": 3, "warn": 5}
RULE_MONTHS = 6  # 党章: 连续六个月


def setting(branch, key: str) -> int:
    """The branch's value for key, or the default."""
    return int({**DEFAULTS, **(branch.settings or {}).get("thresholds", {})}[key])


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
    if run >= setting(branch, "warn"):
        return "warn"
    if run >= setting(branch, "notice"):
        return "notice"
    return None

"""The one clock of the application: aware UTC datetimes, replaceable in tests."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

BEIJING = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current time as an aware UTC datetime, from the app's CLOCK if one is configured.

    CLOCK_FILE (env ZHIBU_CLOCK_FILE) names a file holding an ISO 8601 time: every process of
    a demo or an end-to-end test (web, worker, CLI) then reads the same travelling clock.
    Production sets neither.
    """
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
        path = current_app.config.get("CLOCK_FILE")
        if path:
            return _from_file(path)
    return datetime.now(timezone.utc)


def _from_file(path: str) -> datetime:
    with open(path, encoding="utf-8") as fh:
        moment = datetime.fromisoformat(fh.read().strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def to_beijing(moment: datetime) -> datetime:
    """The same instant, in Beijing time, for anything a person sees."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING)


def from_timestamp(seconds: int | float) -> datetime:
    """A platform CreateTime / timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(float(seconds), tz=timezone.utc)

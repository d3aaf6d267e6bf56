"""The secretary's daily digest job."""
from __future__ import annotations

from bot import clock
from bot.jobs import with_app


@with_app
def send_digests() -> str:
    """Send each branch's digest once its time of day has come (once per secretary and day)."""
    from bot import digest

    results = digest.run(clock.now())
    return f"{sum(1 for _, r in results if r.startswith('sent'))} sent of {len(results)}"

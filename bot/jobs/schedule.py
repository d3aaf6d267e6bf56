"""The scheduler's registrations (rq cron). Cron strings are evaluated in UTC.

Nothing but cron.register(...) calls belongs here; the jobs themselves live beside this file.
"""
from rq import cron

from bot.config import Config
from bot.jobs.platform import refresh_access_token

# Keep the shared access token fresh: every 30 minutes.
cron.register(refresh_access_token, Config.RQ_QUEUE, interval=1800)

"""The scheduler's registrations (rq cron). Cron strings are evaluated in UTC.

Nothing but cron.register(...) calls belongs here; the jobs themselves live beside this file.
"""
from rq import cron

from bot.config import Config
from bot.jobs.digest import send_digests
from bot.jobs.housekeeping import prune_nonces, purge_expired
from bot.jobs.meetings import close_finished_meetings, plan_reminders, plan_upcoming
from bot.jobs.notices import send_due_notices
from bot.jobs.platform import refresh_access_token

# Keep the shared access token fresh: every 30 minutes.
cron.register(refresh_access_token, Config.RQ_QUEUE, interval=1800)
# Keep this month and next month planned from each branch's rules: 02:00 Beijing daily.
cron.register(plan_upcoming, Config.RQ_QUEUE, cron="0 18 * * *")
# Close meetings whose sign-in window has ended: every 10 minutes.
cron.register(close_finished_meetings, Config.RQ_QUEUE, interval=600)
# Send the meeting reminders that are due: every 5 minutes.
cron.register(plan_reminders, Config.RQ_QUEUE, interval=300)
# Send the notices (and 再提醒) that are due: every minute (a notice confirmed in chat is also
# queued at once; this catches scheduled ones and any lost enqueue).
cron.register(send_due_notices, Config.RQ_QUEUE, interval=60)
# The secretaries' daily digest goes at each branch's time (08:30 Beijing by default): a check
# every 10 minutes sends what is due, once per secretary and day, catching up after downtime.
cron.register(send_digests, Config.RQ_QUEUE, interval=600)
# Forget the webhook's (timestamp, nonce) pairs once too old to matter: every 10 minutes.
cron.register(prune_nonces, Config.RQ_QUEUE, interval=600)
# Drop personal information past RETENTION_DAYS, delete expired exports: 03:00 Beijing daily.
cron.register(purge_expired, Config.RQ_QUEUE, cron="0 19 * * *")

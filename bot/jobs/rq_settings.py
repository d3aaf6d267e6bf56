"""Settings module for the `rq worker -c bot.jobs.rq_settings` and `rq cron -c bot.jobs.rq_settings` CLIs.

It resolves the same Redis as the web app: REDIS_URL, or the embedded server under instance/.
"""
from bot.config import Config
from bot.redisconn import resolve_url

REDIS_URL = resolve_url(Config)
QUEUES = [Config.RQ_QUEUE]

# Build the app once here, in the worker's parent process: every job's forked work-horse
# inherits it instead of building its own.
from bot.jobs import app as _app  # noqa: E402

_app()

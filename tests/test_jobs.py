"""RQ: a real worker runs a send job; the schedule module only registers."""
from __future__ import annotations

import requests
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler

from bot.jobs import platform as platform_jobs
from bot.storage.engine import db
from bot.storage.models import OutboundMessage
from tests.helpers import bind


def test_a_worker_runs_a_send_job_once(app, platform, fake, tmp_path, clock):
    (zhang,) = bind(platform, tmp_path, ("张建国", "o_zhang"))
    requests.post(f"{fake.url}/_fake/interact", json={"openid": "o_zhang"})
    queue: Queue = app.extensions["rq_queue"]
    for _ in range(2):  # the same job enqueued twice (a retried planner) sends once
        queue.enqueue(platform_jobs.send_to_member, zhang.id, "welcome_back", "welcome:1",
                      {"name": "张建国"})
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.work(burst=True)
    assert len(fake.state.delivered) == 1
    assert db.session.query(OutboundMessage).count() == 1


def test_schedule_module_registers_the_token_refresh(app):
    cron = CronScheduler(connection=app.extensions["redis"])
    cron.load_config_from_file("bot.jobs.schedule")
    names = [job.func.__name__ for job in cron.get_jobs()]
    assert names == ["refresh_access_token", "plan_upcoming", "close_finished_meetings",
                     "plan_reminders", "send_due_notices", "send_digests", "prune_nonces",
                     "purge_expired"]


def test_refresh_job_fills_the_shared_token(app, fake):
    assert platform_jobs.refresh_access_token() == "ok"
    assert app.extensions["redis"].get(f"zhibu:wechat:token:{app.config['WECHAT_APP_ID']}")


def test_refresh_job_survives_an_unreachable_platform(app):
    app.config["WECHAT_API_BASE"] = "http://127.0.0.1:1"
    app.extensions.pop("wechat_client", None)
    assert platform_jobs.refresh_access_token().startswith("failed: None")

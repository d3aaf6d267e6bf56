"""The outbound client against the stand-in platform: shared token, retries, channels, records."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from bot.wechat import client as wechat
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import OutboundMessage
from tests.helpers import bind


@pytest.fixture
def member(app, platform, fake, tmp_path, clock):
    """张建国, bound to o_zhang, who messaged the account just now (inside the window)."""
    (zhang,) = bind(platform, tmp_path, ("张建国", "o_zhang"))
    requests.post(f"{fake.url}/_fake/interact", json={"openid": "o_zhang"})
    return zhang


def calls(fake, path):
    return [m for m in fake.state.delivered if path in m["kind"]]


def test_inside_the_window_sends_a_customer_service_message(app, fake, member, clock):
    record = wechat.send(member, "welcome_back", clock(), name="张建国")
    assert record.status == "sent" and record.channel == "custom" and record.errcode == 0
    sent = fake.state.delivered[-1]
    assert sent["kind"] == "custom" and sent["openid"] == "o_zhang"
    assert sent["body"]["text"]["content"] == "张建国同志，欢迎回来！回复“帮助”可以查看能办的事。"


def test_outside_the_window_sends_a_template_message(app, fake, member, clock):
    clock.advance(hours=49)
    record = wechat.send(member, "welcome_back", clock(), name="张建国")
    assert record.status == "sent" and record.channel == "template"
    body = fake.state.delivered[-1]["body"]
    assert body["template_id"] == "TEMPLATE_ID_BRANCH_NOTICE"
    assert all(len(v["value"]) <= 20 for v in body["data"].values())
    assert record.wechat_msgid == fake.state.delivered[-1]["msgid"]


def test_45015_falls_back_to_a_template(app, fake, member, clock):
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 45015})
    record = wechat.send(member, "welcome_back", clock(), name="张建国")
    assert record.status == "sent" and record.channel == "template"
    assert [a["errcode"] for a in record.attempts] == [45015, 0]
    assert [a["channel"] for a in record.attempts] == ["custom", "template"]


def test_43004_marks_the_member_unreachable(app, fake, member, clock):
    requests.post(f"{fake.url}/_fake/unfollow", json={"openid": "o_zhang"})
    record = wechat.send(member, "welcome_back", clock(), name="张建国")
    assert record.status == "failed" and record.errcode == 43004
    db.session.refresh(member)
    assert member.reachable is False


@pytest.mark.parametrize("errcode", [45009, 45011, -1])
def test_quota_and_busy_errors_are_raised_for_a_later_retry(app, fake, member, clock, errcode):
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": errcode, "count": 2})
    with pytest.raises(wechat.PlatformError) as caught:
        wechat.send(member, "welcome_back", clock(), idempotency_key="k1", name="张建国")
    assert caught.value.errcode == errcode
    row = db.session.execute(select(OutboundMessage)).scalar_one()
    assert row.status == "failed" and row.errcode == errcode
    # the retry later, with the same key, sends it (once)
    fake.state.queued_failures.clear()
    again = wechat.send(member, "welcome_back", clock(), idempotency_key="k1", name="张建国")
    assert again.id == row.id and again.status == "sent"
    assert len(fake.state.delivered) == 1


def test_idempotency_key_never_sends_twice(app, fake, member, clock):
    first = wechat.send(member, "welcome_back", clock(), idempotency_key="remind:1:1", name="x")
    second = wechat.send(member, "welcome_back", clock(), idempotency_key="remind:1:1", name="x")
    assert first.id == second.id and len(fake.state.delivered) == 1


def test_token_is_shared_through_redis_and_fetched_once(app, fake, member, clock):
    wechat.send(member, "welcome_back", clock(), name="a")
    app.extensions.pop("wechat_client")  # a second process: new client, same Redis
    wechat.send(member, "welcome_back", clock(), name="b")
    assert len([t for t in fake.state.tokens]) == 1
    cached = json.loads(app.extensions["redis"].get(f"zhibu:wechat:token:{app.config['WECHAT_APP_ID']}"))
    assert cached["token"] in fake.state.tokens


def test_token_refreshed_before_expiry(app, fake, member, clock):
    client = wechat.client()
    token = client.tokens.get()
    key = client.tokens.key
    data = json.loads(app.extensions["redis"].get(key))
    data["expires_at"] = data["expires_at"] - 7200 + 200  # 200 s left, margin is 300
    app.extensions["redis"].set(key, json.dumps(data))
    fake.state.tokens[token][1] -= 7000  # the platform agrees it is about to expire
    assert client.tokens.get() != token


def test_invalid_token_is_refreshed_once_and_retried_once(app, fake, member, clock):
    wechat.send(member, "welcome_back", clock(), name="a")
    requests.post(f"{fake.url}/_fake/expire_tokens")  # the cached token now answers 42001
    record = wechat.send(member, "welcome_back", clock(), name="b")
    assert record.status == "sent"
    assert len(fake.state.delivered) == 2


def test_persistent_token_errors_do_not_loop(app, fake, member, clock):
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 40001, "count": 10})
    record = wechat.send(member, "welcome_back", clock(), name="a")
    assert record.status == "failed" and record.errcode == 40001
    assert len(fake.state.queued_failures) == 8  # exactly one call and one retry were made


def test_wrong_secret_is_a_clear_failure(app, fake, member, clock):
    app.config["WECHAT_APP_SECRET"] = "wrong"
    app.extensions.pop("wechat_client", None)
    try:
        with pytest.raises(wechat.PlatformError) as caught:
            wechat.client().tokens.get()
        assert caught.value.errcode == 40125
    finally:
        app.config["WECHAT_APP_SECRET"] = "test-app-secret"


def test_unbound_member_is_recorded_not_sent(app, fake, member, clock):
    li = store.members_by_name("李红梅")[0]
    record = wechat.send(li, "welcome_back", clock(), name="李红梅")
    assert record.status == "failed" and fake.state.delivered == []


def test_delivery_report_updates_the_record(app, platform, fake, member, clock):
    clock.advance(hours=49)
    record = wechat.send(member, "welcome_back", clock(), name="a")
    platform.event("o_zhang", "TEMPLATESENDJOBFINISH", MsgID=str(record.wechat_msgid),
                   Status="failed:user block")
    db.session.refresh(record)
    assert record.delivery_status == "failed:user block"


def test_window_is_48_hours_from_the_last_interaction(app, member, clock):
    user = member.wechat
    assert wechat.in_window(user, clock())
    assert wechat.in_window(user, clock() + timedelta(hours=47, minutes=59))
    assert not wechat.in_window(user, clock() + timedelta(hours=48))

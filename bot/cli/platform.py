"""`flask --app wsgi fake-wechat` (the stand-in platform) and `chat` (the simulator)."""
from __future__ import annotations

import sys

import click
from flask import current_app


@click.command("fake-wechat")
@click.option("--port", type=int, default=5001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--record", type=click.Path(dir_okay=False), help="Append each call as a JSON line.")
@click.option("--latency-ms", type=int, default=0, show_default=True)
@click.option("--fail", multiple=True, help="CODE:RATE, e.g. 45015:0.1 (repeatable).")
@click.option("--no-window", is_flag=True, help="Do not enforce the 48-hour window.")
def fake_wechat_command(port, host, record, latency_ms, fail, no_window):
    """Run the stand-in platform API (token, customer-service and template endpoints)."""
    from bot.wechat.fake import create_fake, parse_fail, run

    cfg = current_app.config
    app = create_fake(cfg["WECHAT_APP_ID"], cfg["WECHAT_APP_SECRET"], record=record,
                      latency_ms=latency_ms, fail=parse_fail(fail),
                      enforce_window=not no_window)
    click.echo(f"stand-in WeChat API on http://{host}:{port} (record: {record or 'off'})")
    run(app, host, port)


@click.command("chat")
@click.option("--as", "name", required=True, help="以这位党员的身份聊天（姓名）。")
@click.option("--url", help="The webhook.  [default: the running demo's, "
              "http://127.0.0.1:PORT/wechat; PORT 5000 when no demo runs]")
@click.option("--fake", "fake_url", help="The stand-in platform, to show messages pushed to "
              "this member.  [default: the running demo's, http://127.0.0.1:FAKE_PORT]")
def chat_command(name, url, fake_url):
    """A terminal chat with the running bot as a member, through real signed XML."""
    from bot.cli.demo import running_ports
    from bot.wechat.simulator import run_chat

    port, fake_port = running_ports()
    sys.exit(run_chat(name, url or f"http://127.0.0.1:{port}/wechat",
                      fake_url or f"http://127.0.0.1:{fake_port}"))

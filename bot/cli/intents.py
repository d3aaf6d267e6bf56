"""`flask --app wsgi intent TEXT…`: how the bot reads texts."""
from __future__ import annotations

import json

import click

from bot import clock


@click.command("intent")
@click.argument("texts", nargs=-1)
@click.option("--file", "path", type=click.File("r", encoding="utf-8"),
              help="每行一句话。")
def intent_command(texts, path):
    """Classify texts; print one JSON line per text: {"text", "intent", "slots"}."""
    from bot.chat.intents import classify

    lines = list(texts)
    if path:
        lines.extend(line.rstrip("\n") for line in path if line.strip())
    today = clock.to_beijing(clock.now()).date()
    for text in lines:
        click.echo(json.dumps(classify(text, today).as_dict(text), ensure_ascii=False))

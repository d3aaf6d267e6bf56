"""`flask --app wsgi intent TEXT…`: how the bot reads texts; `intents build|eval|review`: the
model it reads them with."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from bot import clock
from bot.cli import fail
from bot.replies import render


@click.command("intent")
@click.argument("texts", nargs=-1)
@click.option("--file", "path", type=click.File("r", encoding="utf-8"),
              help="每行一句话。")
def intent_command(texts, path):
    """Read texts; one JSON line each: {"text", "intent", "slots", "confidence", "act"}
    (act is false where the bot, as a member with a meeting and a notice open, would ask)."""
    from bot.chat import training
    from bot.chat.intents import classify

    training.model_path()  # built first if this corpus has no model yet
    lines = list(texts)
    if path:
        lines.extend(line.rstrip("\n") for line in path if line.strip())
    today = clock.to_beijing(clock.now()).date()
    for text in lines:
        click.echo(json.dumps(classify(text, today).as_dict(text), ensure_ascii=False))


group = AppGroup("intents", help="理解：训练、评估、复核。")


@group.command("build")
@click.option("--force", is_flag=True, help="即使语料没变也重新训练。")
def build(force):
    """Train the model from prompts/corpus (and instance/corpus.tsv); kept while the corpus is
    unchanged."""
    from bot.chat import training

    built = training.build_model(force=force)
    key = "cli.intents_built" if built.seconds else "cli.intents_current"
    click.echo(render(key, path=built.path, examples=built.examples, features=built.features,
                      seconds=f"{built.seconds:.1f}"))


@group.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--show", default=20, show_default=True, help="列出多少条读错的。")
@click.option("--slots", "slot_file", is_flag=True,
              help="FILE 是时间槽位的测试集（意图、发送时间、原文、期望 JSON）。")
def evaluate(file, show, slot_file):
    """Accuracy, the worst cells of the confusion table, and every dangerous confusion (a
    record-changing reading the speaker did not mean, acted on) of FILE (intent<TAB>text);
    with --slots, how many dates, times and durations are read right."""
    from bot.chat import training

    if slot_file:
        found = training.evaluate_slots(file)
        click.echo(render("cli.slots_eval", total=found.total, right=found.right,
                          accuracy=f"{found.accuracy:.3f}"))
        for text, sent_at, expected, got in found.wrong[:show]:
            click.echo(f"  {sent_at}  {text}  {expected} → {got}")
        return

    try:
        result = training.evaluate(file, clock.to_beijing(clock.now()).date())
    except ValueError as exc:
        fail("cli.import_refused", reason=exc)
    click.echo(render("cli.intents_eval", total=result.total, right=result.right,
                      accuracy=f"{result.accuracy:.3f}", asked=result.asked,
                      asked_share=f"{result.asked / max(result.total, 1):.3f}",
                      unsure=result.asked_unsure,
                      unsure_share=f"{result.asked_unsure / max(result.total, 1):.3f}",
                      detail=result.asked - result.asked_unsure,
                      dangerous=len(result.dangerous)))
    click.echo(render("cli.intents_confusion"))
    for (meant, read), count in result.confusion.most_common(15):
        click.echo(f"  {count:3d}  {meant} → {read}")
    click.echo(render("cli.intents_dangerous", count=len(result.dangerous)))
    for meant, read, confidence, text in result.dangerous:
        click.echo(f"  {'|'.join(meant)} → {read} ({confidence:.2f})  {text}")
    if show:
        click.echo(render("cli.intents_wrong", count=min(show, len(result.wrong))))
        for meant, read, confidence, text in result.wrong[:show]:
            click.echo(f"  {'|'.join(meant)} → {read} ({confidence:.2f})  {text}")


@group.command("review")
@click.option("--confirm", "confirmations", multiple=True,
              help="ID=意图：确认这条的意思，加入 instance/corpus.tsv（可多次）。")
@click.option("--drop", "drops", multiple=True, type=int, help="ID：这条不用学，去掉。")
def review(confirmations, drops):
    """What the bot asked back about, what was undone, and what it did not understand, with
    what the person then chose; confirm some into the corpus (then `intents build`)."""
    from bot.chat import training
    from bot.storage.engine import db
    from bot.storage.models import ReviewItem

    now = clock.now()
    for pair in confirmations:
        number, _, intent = pair.partition("=")
        item = db.session.get(ReviewItem, int(number)) if number.isdigit() else None
        if item is None or intent not in training.reading.INTENTS:
            fail("cli.review_bad", value=pair)
        training.confirm(item, intent, now)
    for number in drops:
        item = db.session.get(ReviewItem, number)
        if item is not None:
            item.reviewed_at = now
    db.session.commit()
    items = training.review_items()
    if not items:
        click.echo(render("cli.review_none"))
    for item in items:
        click.echo(f"{item.id}\t{item.kind}\t{item.read}\t{item.chosen or '-'}\t{item.text}")
    if confirmations:
        click.echo(render("cli.review_added", count=len(confirmations)))

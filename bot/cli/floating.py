"""`flask --app wsgi floating …`: the floating members of a branch, and logging a contact."""
from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import AppGroup

from bot import clock
from bot.floating import reports as floating
from bot.cli import branches_named, fail
from bot.clock import to_beijing
from bot.replies import render
from bot.members import store as member_store
from bot.storage.engine import db

group = AppGroup("floating", help="流动党员：台帐与联系记录。")


@group.command("list")
@click.option("--branch")
@click.option("--json", "as_json", is_flag=True)
def list_(branch, as_json):
    """Each floating member: where, since when, last report, last contact, overdue or not."""
    rows = [row for found in branches_named(branch)
            for row in floating.overview(found.id, clock.now())]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    never = render("floating.never")
    for r in rows:
        where = r["where"] or render("floating.where_unknown")
        click.echo(f"{r['branch']}\t{r['name']}\t{where}\t{r['since']}\t"
                   f"{r['last_report'] or never}\t{r['last_contact'] or never}\t"
                   f"{'overdue' if r['overdue'] else ''}")


@group.command("contact")
@click.argument("name")
@click.option("--note", default="", help="联系情况")
@click.option("--on", "on_text", help="联系日期 YYYY-MM-DD（默认今天）")
@click.option("--branch")
@click.option("--by", default="cli", show_default=True, help="谁联系的（记入台帐）")
def contact(name, note, on_text, branch, by):
    """Log a contact with a floating member (一月一联系)."""
    found = member_store.members_by_name(name, branch)
    if len(found) != 1:
        fail("dues.unknown_member" if not found else "dues.sheet_same_name", name=name)
    try:
        on = date.fromisoformat(on_text) if on_text else to_beijing(clock.now()).date()
    except ValueError:
        fail("dues.sheet_bad_date", value=on_text)
    outcome = floating.log_contact(found[0], note.strip() or None, on, by, clock.now())
    if outcome.key != "floating.contact_logged":
        fail(outcome.key, **outcome.values)
    db.session.commit()
    click.echo(outcome.render())

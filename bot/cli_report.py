"""`flask --app wsgi report compliance`: the quarterly check of 三会一课."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from bot import compliance
from bot.cli_meetings import branches_named
from bot.replies import render
from bot.rules.compliance import parse_quarter

group = AppGroup("report", help="检查：三会一课落实情况。")


@group.command("compliance")
@click.option("--quarter", "quarter_text", required=True, help="YYYY-Q1 … YYYY-Q4")
@click.option("--branch")
@click.option("--json", "as_json", is_flag=True)
def compliance_(quarter_text, branch, as_json):
    """For each branch: each meeting its rules require in the quarter, held or missing."""
    try:
        year, quarter = parse_quarter(quarter_text)
    except ValueError:
        click.echo(render("compliance.bad_quarter", quarter=quarter_text), err=True)
        sys.exit(2)
    found = branches_named(branch)
    if as_json:
        click.echo(json.dumps([compliance.as_json(b, year, quarter) for b in found],
                              ensure_ascii=False))
        return
    click.echo("\n\n".join(compliance.report_text(b, year, quarter) for b in found))

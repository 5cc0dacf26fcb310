"""`import` (JSON-lines messages), `outbox`, `dead-letters`."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from postsales.core.persistence import tables as T
from postsales.core.services.messages import Importer, iter_dead_letters
from postsales.core.services.parallel_import import default_workers

from .errors import handled
from .main import cli, state
from .output import emit_json, table


@cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes reading order creates in parallel (default: one per core but one; "
    "0 reads everything in this process).",
)
@handled
def import_(file: click.utils.LazyFile, as_json: bool, workers: int | None) -> None:
    """Import inbound messages, one JSON envelope per line (FILE or - for standard input).

    Redelivered messages (same id) change nothing. Malformed ones are refused with the field
    named, kept as dead letters, and make the exit code 2. A long JSON-lines file is read by
    several processes at once; the messages are still applied in the file's order.
    """
    app = state().app()
    importer = Importer(app, workers=default_workers() if workers is None else workers)
    lines = iter(file)
    if sys.stderr.isatty() and file is not sys.stdin and getattr(file, "name", "-") != "-":
        with open(file.name, encoding="utf-8") as counting:
            total = sum(1 for _ in counting)
        with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
            report = importer.run(lines, progress=bar.update)
    else:
        report = importer.run(lines)
    if as_json:
        emit_json(
            {
                "applied": report.applied,
                "duplicates": report.duplicates,
                "refused": [
                    {"line": r.line, "message_id": r.message_id, "reason": r.reason}
                    for r in report.refused
                ],
            }
        )
    else:
        for r in report.refused:
            click.echo(f"line {r.line}: refused: {r.reason}", err=True)
        refused = len(report.refused)
        click.echo(f"{report.applied} applied, {report.duplicates} duplicates, {refused} refused")
    sys.exit(report.exit_code)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--pending", is_flag=True, help="Only messages not yet relayed.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@handled
def outbox(as_json: bool, pending: bool, limit: int) -> None:
    """List outbound messages with their state (pending or sent)."""
    app = state().app()
    q = select(T.outbox).order_by(T.outbox.c.seq.desc()).limit(limit)
    if pending:
        q = q.where(T.outbox.c.sent_at.is_(None))
    with app.uow(read_only=True) as uow:
        rows = list(uow.conn.execute(q))
    rows.reverse()
    docs = [
        {
            "id": r.message_id,
            "type": r.type,
            "order_id": r.order_id,
            "created_at": r.created_at.isoformat(),
            "state": "sent" if r.sent_at else "pending",
            "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            "payload": r.payload,
        }
        for r in rows
    ]
    if as_json:
        emit_json(docs)
    else:
        table(
            [(d["id"], d["type"], d["order_id"], d["state"], d["created_at"]) for d in docs],
            ["id", "type", "order", "state", "created"],
        )


@cli.command("dead-letters")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@handled
def dead_letters(as_json: bool, limit: int) -> None:
    """Show refused inbound messages with the reason, newest first."""
    rows = list(iter_dead_letters(state().app(), limit))
    docs = [
        {
            "message_id": r.message_id,
            "type": r.type,
            "reason": r.reason,
            "received_at": r.received_at.isoformat(),
            "raw": r.raw,
        }
        for r in rows
    ]
    if as_json:
        emit_json(docs)
    else:
        table(
            [(d["received_at"], d["message_id"], d["type"], d["reason"]) for d in docs],
            ["received", "message", "type", "reason"],
        )

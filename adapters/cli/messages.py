"""`import` (JSON-lines messages), `outbox`, `dead-letters`."""

from __future__ import annotations

import sys

import click

from .errors import handled
from .main import cli, state
from .output import Clock, emit_json, table


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
    from postsales.core.services.messages.inbound import Importer
    from postsales.core.services.messages.parallel_import import default_workers

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
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--after", type=click.IntRange(0), help="Only messages after this seq (paging).")
@handled
def outbox(as_json: bool, pending: bool, limit: int, after: int | None) -> None:
    """List outbound messages with their state (pending or sent), within your stores."""
    from postsales.core.services.messages.outbox_read import list_outbox

    st = state()
    user = st.user()
    docs = list_outbox(st.app(), user, pending=pending, limit=limit, after=after)
    if as_json:
        emit_json(docs)
        return
    clock = Clock(user.timezone)
    rows = [
        (d["seq"], d["id"], d["type"], d["order_id"], d["state"], clock.show(d["created_at"]))
        for d in docs
    ]
    table(rows, ["seq", "id", "type", "order", "state", clock.header("created")])


@cli.command("dead-letters")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@handled
def dead_letters(as_json: bool, limit: int) -> None:
    """Show refused inbound messages with the reason, newest first.

    Only for users who see every sales channel (a dead letter may be any store's message).
    """
    from postsales.core.services.messages.inbound import list_dead_letters

    st = state()
    user = st.user()
    docs = list_dead_letters(st.app(), user, limit)
    if as_json:
        emit_json(docs)
        return
    clock = Clock(user.timezone)
    table(
        [(clock.show(d["received_at"]), d["message_id"], d["type"], d["reason"]) for d in docs],
        [clock.header("received"), "message", "type", "reason"],
    )

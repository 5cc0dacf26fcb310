"""`audit`: the audit log, newest first, for admins (issue 16 item 5)."""

from __future__ import annotations

import json

import click

from .errors import handled
from .lazy import LazyModule
from .main import cli, state
from .output import Clock, emit_json, table

audit_log = LazyModule("postsales.core.services.audit_log")


def _summary(detail: dict[str, object]) -> str:
    """The detail on one line, its most telling keys first."""
    text = json.dumps(detail, ensure_ascii=False, sort_keys=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


@cli.command("audit")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    help="A kind (access.forbidden) or a category (access); repeatable or comma-separated.",
)
@click.option("--actor", help="Only what this user (or name typed at sign-in) did.")
@click.option("--since", help="From this date (in your time zone) or ISO-8601 time.")
@click.option("--until", help="Through this date (the whole day) or until this ISO-8601 time.")
@click.option("--page", default=1, show_default=True, type=int)
@click.option("--per-page", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@handled
def audit(
    kinds: tuple[str, ...],
    actor: str | None,
    since: str | None,
    until: str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """Show the audit log: sign-ins and failures, access refusals, exports, user and token
    changes, token use. Only for users with users.manage who see every sales channel."""
    from postsales.core.documents import iso

    st = state()
    user = st.user()
    found = audit_log.read_audit(
        st.app(), user,
        kinds=[k for value in kinds for k in value.split(",")],
        actor=actor, since=since, until=until, page=page, per_page=per_page,
    )  # fmt: skip
    if as_json:
        emit_json(
            {
                "total": found.total,
                "page": found.page,
                "per_page": found.per_page,
                "entries": [{**e, "at": iso(e["at"])} for e in found.entries],
            }
        )
        return
    clock = Clock(user.timezone)
    table(
        [
            (clock.show(e["at"]), e["actor"], e["kind"], _summary(e["detail"]))
            for e in found.entries
        ],
        [clock.header("at"), "actor", "kind", "detail"],
    )
    shown = len(found.entries)
    first = (found.page - 1) * found.per_page + 1 if shown else 0
    click.echo(f"{first}-{first + shown - 1 if shown else 0} of {found.total}")

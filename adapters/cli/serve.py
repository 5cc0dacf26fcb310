"""`serve`: the agents' web app on Werkzeug's development server."""

from __future__ import annotations

import click

from .errors import handled
from .main import cli, state


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@handled
def serve(host: str, port: int) -> None:
    """Run the web app (Werkzeug's server, for one machine and for trying things out).

    Production uses gunicorn instead, e.g.
    `gunicorn -w 4 'postsales.adapters.web:create_app()'` with POSTSALES_DATABASE_URL,
    POSTSALES_CONFIG and POSTSALES_SECRET_KEY set.
    """
    # Imported here so the rest of the CLI never loads Flask; this is the one place the CLI
    # door reaches the web door (declared as an accepted exception to the import contract).
    from postsales.adapters.web import create_app

    create_app(state().app()).run(host=host, port=port)

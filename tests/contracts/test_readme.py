"""The README's promises, run as written (issue 12 item 1): a newcomer copies them first.

The CLI tour is run in an empty folder that holds only what a fresh clone has beside the
commands (`examples/`, and `.venv` pointing at this interpreter's environment), so a command
that leans on anything else — a folder beside the clone, a demo database, a file made by an
earlier test run — fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _cli_tour() -> str:
    section = README.split("## Using the CLI", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "README's 'Using the CLI' section has no bash block"
    return match.group(1)


# A relative path that climbs (`../x`, `../../x/y`), and whether it is a Markdown link's target.
CLIMBING = re.compile(r"(\]\()?(?<![\w.])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*)")


def _outside(doc: Path) -> list[str]:
    """The relative paths in `doc` that lead out of the project (a user's clone has nothing
    beside it): a link is read from the document's folder, a command from the project's, where
    the README says to run them."""
    return [
        path
        for link, path in CLIMBING.findall(doc.read_text())
        if not ((doc.parent if link else ROOT) / path).resolve().is_relative_to(ROOT)
    ]


def test_the_readme_reads_nothing_outside_the_project() -> None:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert _outside(doc) == [], doc.name


def test_the_cli_tour_runs_as_written_in_a_fresh_folder(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    script = "set -euo pipefail\n" + _cli_tour()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTSALES_")}
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # The dry run previews the refund of line 2 of the shipped example order.
    assert "return on 000000101: would succeed (nothing changed)" in done.stdout, done.stdout
    assert "54.00 USD" in done.stdout, done.stdout
    assert (tmp_path / "var" / "tour.db").is_file()
    assert (tmp_path / "var" / "billing.key").is_file()  # beside the database, as the README says

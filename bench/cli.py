"""CLI start-up, whole process (issue 18 item 1): median of N runs of each command as a user runs
it (the installed `postsales` script, a fresh process each time), against `python -c pass`, a
minimal Click program and `import click, sqlalchemy` (the floor any command that reads the
database pays). A benchmark, not a timed test.

    .venv/bin/python bench/cli.py                 # 10 runs each, SQLite under var/bench/cli/
    .venv/bin/python bench/cli.py --runs 20
    .venv/bin/python bench/cli.py --bin /tmp/old/bin   # another installation (e.g. an older commit)

Goals on SQLite: `--help`, `--version` <= 150 ms; `orders show`, `orders search`, `actions`
<= 300 ms; `act` <= 400 ms. Prints the load average before and after, and CPU time (user +
system) beside the wall time: on a shared machine the wall time moves with the load, the CPU
time much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MINIMAL_CLICK = '''
import click

@click.group()
@click.version_option("1.0")
def cli():
    """A minimal Click program."""

@cli.command()
def hello():
    click.echo("hello")

cli()
'''
ORDER = "000000101"
EMAIL = "veronica.costello@example.com"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(argv: list[str], env: dict[str, str], cwd: Path, runs: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) over `runs`, after one warm-up run."""
    walls, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
        if i:  # the first run writes bytecode caches and warms the page cache
            walls.append(wall * 1000)
            cpus.append(
                (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
            )
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--folder", type=Path, default=ROOT / "var" / "bench" / "cli")
    parser.add_argument(
        "--bin", type=Path, default=Path(sys.executable).parent, help="Where python, postsales are."
    )
    args = parser.parse_args()
    folder = args.folder.resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "minimal_click.py").write_text(MINIMAL_CLICK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTSALES_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
    env["POSTSALES_DATABASE_URL"] = f"sqlite:///{folder / 'cli.db'}"
    postsales = str(args.bin / "postsales")
    python = str(args.bin / "python")
    for setup in (["init"], ["import", str(ROOT / "examples/messages/order-create.json")]):
        subprocess.run([postsales, *setup], env=env, cwd=folder, check=True, capture_output=True)
    cases = [
        ("python -c pass", [python, "-c", "pass"], 0),
        ("minimal Click program --help", [python, str(folder / "minimal_click.py"), "--help"], 0),
        ("python -c 'import click, sqlalchemy'", [python, "-c", "import click, sqlalchemy"], 0),
        ("postsales --help", [postsales, "--help"], 150),
        ("postsales --version", [postsales, "--version"], 150),
        ("postsales orders show ID --json", [postsales, "orders", "show", ORDER, "--json"], 300),
        (
            "postsales orders search --filter email=… --json",
            [postsales, "orders", "search", "--filter", f"email={EMAIL}", "--json"],
            300,
        ),
        ("postsales actions ID", [postsales, "actions", ORDER], 300),
        (
            "postsales act ID comment --param text=… --json",
            [postsales, "act", ORDER, "comment", "--param", "text=benchmark", "--json"],
            400,
        ),
    ]
    print(f"load before: {load()}  ({args.runs} runs each, median)")
    print("| command | wall ms | CPU ms | goal ms |")
    print("| --- | ---: | ---: | ---: |")
    for label, argv, goal in cases:
        wall, cpu = timed(argv, env, folder, args.runs)
        print(f"| `{label}` | {wall:.0f} | {cpu:.0f} | {goal or ''} |", flush=True)
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()

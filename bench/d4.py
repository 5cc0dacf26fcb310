"""D-4 under contention, 50 rounds (issue 3 item 6): 16 processes x 5 attempts at one barrier
appeasing and returning line 2 of the example order; prints over-refunds and lost updates for
the engine and for a deliberately naive read-check-write variant.

    .venv/bin/python bench/d4.py [--rounds 50] [--db postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from databases import fresh_database

from postsales.core.bootstrap import bootstrap
from tests.conftest import import_examples
from tests.integration.concurrency import engine_action, naive_action, race, verdict


def fresh_url(base: str | None) -> str:
    url = fresh_database(base, "d4")
    app = bootstrap(None, url)
    import_examples(app, "order-create.json", "shipment-shipped.json")
    app.engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--db", help="PostgreSQL base URL (default: SQLite files)")
    args = parser.parse_args()
    for label, worker in (("engine", engine_action), ("naive read-check-write", naive_action)):
        overs, lost, secs = [], 0, []
        for _ in range(args.rounds):
            url = fresh_url(args.db)
            t0 = time.perf_counter()
            v = verdict(url, race(url, worker))
            secs.append(time.perf_counter() - t0)
            overs.append(v.over_refund)
            lost += v.lost_updates > 0
        caught = sum(1 for o in overs if o)
        worst = max(overs) / 5400 * 100
        print(
            f"{label}: {args.rounds} rounds, over-refund in {caught} (worst {worst:.0f} % over "
            f"the 54.00 line), lost updates in {lost}, {statistics.median(secs):.2f} s/round"
        )


if __name__ == "__main__":
    main()

"""D-4 under concurrency, with a harness that can see the bug (issue 3 item 6).

16 processes x 5 attempts, released at one barrier, appease and return line 2 of the example
order at once. Zero over-refunds and zero lost updates, on SQLite and PostgreSQL, every round
(POSTSALES_D4_ROUNDS, default 3; 20 in CI). The same harness against a naive read-check-write
variant must find the over-refund.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postsales.core.bootstrap import Postsales, bootstrap
from tests.conftest import _db_for, import_examples
from tests.integration.concurrency import engine_action, naive_action, race, verdict

_DEFAULT_ROUNDS = "20" if os.environ.get("CI") == "true" else "3"
ROUNDS = int(os.environ.get("POSTSALES_D4_ROUNDS", _DEFAULT_ROUNDS))


def fresh(app: Postsales, request: pytest.FixtureRequest, tmp_path: Path, round_: int) -> str:
    """A new database holding just the shipped example order, for one round."""
    kind = request.node.callspec.params["app"]
    url = _db_for(request, tmp_path / f"r{round_}", kind)
    fresh_app = bootstrap(None, url)
    import_examples(fresh_app, "order-create.json", "shipment-shipped.json")
    fresh_app.engine.dispose()
    return url


@pytest.mark.slow
def test_d4_holds_when_sixteen_processes_refund_the_same_line(
    app: Postsales, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    app.engine.dispose()
    for round_ in range(ROUNDS):
        (tmp_path / f"r{round_}").mkdir()
        url = fresh(app, request, tmp_path, round_)
        successes = race(url, engine_action)
        v = verdict(url, successes)
        assert v.over_refund == 0, v
        assert v.lost_updates == 0, v
        assert v.ledger_order == v.refunded_on_line, v  # only line 2 is ever refunded
        assert v.successes == v.refunds_stored, v  # every accepted action stored its refund
        assert v.refunded_on_line > 0, v  # the race really refunded something


@pytest.mark.slow
def test_the_harness_catches_a_naive_read_check_write(
    app: Postsales, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    app.engine.dispose()
    caught = 0
    for round_ in range(2):
        (tmp_path / f"r{round_}").mkdir()
        url = fresh(app, request, tmp_path, round_)
        v = verdict(url, race(url, naive_action))
        caught += bool(v.over_refund or v.lost_updates)
    assert caught == 2, "the harness failed to see the naive variant's over-refund"

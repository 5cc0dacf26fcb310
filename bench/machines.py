"""Time a transition on one shared Machine vs a Machine built per object (STYLE pitfall 1).

Run: ``.venv/bin/python bench/machines.py [iterations]`` (default 10,000). Not a test: the
figures depend on the host; the point is the ratio, which should stay large.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import SimpleNamespace

from postsales.core.machines import ORDER, _build_machine, fire, machine_for


def _per_call_us(n: int, step: Callable[[SimpleNamespace], object]) -> float:
    # Fresh objects built outside the timed loop, so only the transition work is measured.
    objects = [SimpleNamespace(status="NEW", held_from=None) for _ in range(n)]
    start = time.perf_counter()
    for obj in objects:
        step(obj)
    elapsed = time.perf_counter() - start
    assert all(obj.status == "RECEIVED" for obj in objects)
    return elapsed / n * 1e6


def main(n: int = 10_000) -> None:
    """Print µs per ``review`` transition for each way of doing it."""
    machine_for(ORDER)  # build the shared machine outside the timing, as at start-up
    event = machine_for(ORDER).events["review"]

    def per_object(obj: SimpleNamespace) -> None:
        # The anti-pattern: a Machine per entity (as in a model __init__ or an ORM load event).
        _build_machine(ORDER, model=obj, initial=obj.status)
        obj.review()

    cases: list[tuple[str, Callable[[SimpleNamespace], object]]] = [
        ("shared machine, fire()", lambda obj: fire(ORDER, obj, "review")),
        ("shared machine, events[t].trigger()", event.trigger),
        ("Machine per object", per_object),
    ]
    print(f"order 'review' (NEW -> RECEIVED), {n:,} objects each")
    results = {label: _per_call_us(n, step) for label, step in cases}
    for label, us in results.items():
        print(f"  {label:<38} {us:8.1f} µs/transition")
    ratio = results["Machine per object"] / results["shared machine, fire()"]
    print(f"  per-object / shared fire(): {ratio:.0f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)

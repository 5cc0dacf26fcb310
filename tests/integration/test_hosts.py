"""Proved on real hosts (issue 15 item 5), the short run: bench/hosts.py builds two app hosts,
a load balancer, a PostgreSQL primary and replica in network namespaces, drives agents through
the load balancer while it kills app1, a relay and the replica and cuts app2's network, and
checks D-1…D-4, that no action is applied twice or lost, that every outbox message reaches the
broker, that signed-in agents stay signed in and that each app host answered its metrics scrapes
while up; then it fails the primary over to the replica (docs/deploy.md section 14) and checks
the same on the new primary. It needs root, `ip netns`, haproxy, PostgreSQL's server binaries and a
RabbitMQ on 127.0.0.1:5672: skipped with the reason when one is missing, required in CI.
About 2 minutes; POSTSALES_HOSTS_SLOT sets the seconds before, during and after each fault.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "bench" / "hosts.py"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _harness() -> object:
    spec = importlib.util.spec_from_file_location("bench_hosts", HARNESS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_product_holds_across_hosts_while_they_fail() -> None:
    why = _harness().missing_prerequisites()  # type: ignore[attr-defined]
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (required in CI)")
        pytest.skip(why)
    argv = [sys.executable, str(HARNESS), "--short"]
    if os.environ.get("POSTSALES_HOSTS_SLOT"):
        argv += ["--slot", os.environ["POSTSALES_HOSTS_SLOT"]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=ROOT)
    print(done.stdout[-6000:])
    assert done.returncode == 0, (
        f"bench/hosts.py --short exited {done.returncode}:\n{done.stdout[-4000:]}\n"
        f"{done.stderr[-3000:]}"
    )
    assert "FAIL" not in done.stdout

"""Hypothesis profiles for the hostile-input fuzz suite (issue 12 item 2).

`ci` (chosen when CI=true) runs at least 10,000 generated inputs per entry point; `dev` (the
default) a few hundred, so a local run stays quick. POSTSALES_FUZZ_EXAMPLES overrides both.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from postsales.core.bootstrap import Postsales, bootstrap
from tests.conftest import import_examples

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "database": None,
    "print_blob": True,
}
settings.register_profile("ci", max_examples=10_000, derandomize=True, **_COMMON)
settings.register_profile("dev", max_examples=200, **_COMMON)
_profile = "ci" if os.environ.get("CI") == "true" else "dev"
_override = os.environ.get("POSTSALES_FUZZ_EXAMPLES")
if _override:
    settings.register_profile("override", max_examples=int(_override), **_COMMON)
    _profile = "override"
FUZZ = settings.get_profile(_profile)


@pytest.fixture(scope="module")
def fuzz_app(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Postsales]:
    """One SQLite database per module with the example order imported and shipped: every
    generated input runs in-process against it (refused ones must leave it as it was)."""
    path = tmp_path_factory.mktemp("fuzz") / "postsales.db"
    shutil.copy(sqlite_template, path)
    app = bootstrap(None, f"sqlite:///{path}")
    import_examples(app, "order-create.json", "shipment-shipped.json")
    yield app
    app.engine.dispose()

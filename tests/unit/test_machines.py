"""The lifecycles of SPEC §3: declarations, the shared machines, refusals and diagrams."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import transitions

from postsales.core import machines
from postsales.core.errors import Refused
from postsales.core.machines import (
    LIFECYCLES,
    LINE,
    ORDER,
    REFUND,
    RETURN,
    SHIPMENT,
    Lifecycle,
    TransitionSpec,
    all_mermaid,
    allowed_sources,
    can_fire,
    fire,
    is_transition,
    machine_for,
    to_mermaid,
    triggers_from,
)


def entity(status: str, **attrs: object) -> SimpleNamespace:
    """A plain object with a status: what the machines act on, no ORM, no add_model."""
    return SimpleNamespace(status=status, **attrs)


def walk(lifecycle: Lifecycle, start: str, *triggers: str) -> list[str]:
    obj = entity(start)
    return [fire(lifecycle, obj, t) for t in triggers]


# --- happy paths -----------------------------------------------------------------------------


def test_order_happy_path() -> None:
    steps = ("place", "review", "release", "ship_partially", "ship_partially", "ship", "close")
    assert walk(ORDER, "DRAFT", *steps) == [
        "NEW",
        "RECEIVED",
        "LOGISTICS",
        "PARTIALLY_SHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CLOSED",
    ]


def test_line_happy_path_and_return() -> None:
    steps = ("allocate", "pick", "ship", "request_return", "cancel_return", "request_return")
    assert walk(LINE, "NEW", *steps, "approve_return") == [
        "ALLOCATED",
        "PICKING",
        "SHIPPED",
        "RETURN_REQUESTED",
        "SHIPPED",
        "RETURN_REQUESTED",
        "RETURNED",
    ]


def test_shipment_happy_path() -> None:
    steps = ("assign_inventory", "release", "pick", "ship")
    assert walk(SHIPMENT, "AWAITING_INVENTORY", *steps) == [
        "INVENTORY_ASSIGNED",
        "RELEASED",
        "PACKING",
        "SHIPPED",
    ]


def test_return_paths() -> None:
    assert walk(RETURN, "REQUESTED", "approve") == ["APPROVED"]
    assert walk(RETURN, "REQUESTED", "cancel") == ["CANCELLED"]


def test_refund_gateway_failure_then_success() -> None:
    assert walk(REFUND, "REQUESTED", "release", "fail", "release", "confirm") == [
        "PENDING_RELEASE",
        "REQUESTED",
        "PENDING_RELEASE",
        "RELEASED",
    ]


def test_fire_sets_status_on_the_entity_and_touches_nothing_else() -> None:
    order = entity("NEW", number="ST1-1")
    assert fire(ORDER, order, "review") == "RECEIVED"
    assert vars(order) == {"status": "RECEIVED", "number": "ST1-1"}


# --- refusals ----------------------------------------------------------------------------------


def test_invalid_source_is_refused_with_the_allowed_states() -> None:
    order = entity("SHIPPED")
    with pytest.raises(Refused) as err:
        fire(ORDER, order, "cancel")
    assert err.value.message == (
        "order is SHIPPED; cancel is allowed in NEW, RECEIVED, ONHOLD, LOGISTICS, PARTIALLY_SHIPPED"
    )
    assert order.status == "SHIPPED"


def test_label_names_the_entity_in_the_reason() -> None:
    with pytest.raises(Refused, match=r"^line 2 is SHIPPED; cancel is allowed in NEW, ALLOCATED$"):
        fire(LINE, entity("SHIPPED"), "cancel", label="line 2")


def test_unknown_status_is_refused_not_a_crash() -> None:
    with pytest.raises(Refused, match=r"^refund is LOST; confirm is allowed in PENDING_RELEASE$"):
        fire(REFUND, entity("LOST"), "confirm")


def test_unknown_trigger_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no trigger 'explode'"):
        fire(ORDER, entity("NEW"), "explode")


def test_failed_condition_is_refused_not_silent() -> None:
    gated = Lifecycle(
        name="gate",
        states=("OPEN", "SHUT"),
        initial=("OPEN",),
        transitions=(
            TransitionSpec("shut", ("OPEN",), "SHUT", condition=lambda e: e.key, guard="a key"),
        ),
    )
    door = entity("OPEN", key=False)
    with pytest.raises(Refused, match=r"^door is OPEN; shut requires a key$"):
        fire(gated, door, "shut", label="door")
    assert door.status == "OPEN"
    door.key = True
    assert fire(gated, door, "shut") == "SHUT"


def test_declarations_reject_unknown_states() -> None:
    with pytest.raises(ValueError, match="unknown state NOWHERE"):
        Lifecycle("bad", ("A",), (TransitionSpec("go", ("A",), "NOWHERE"),), ("A",))


# --- hold and release --------------------------------------------------------------------------


@pytest.mark.parametrize("held_from", ["NEW", "RECEIVED"])
def test_release_hold_returns_to_where_the_order_was_held(held_from: str) -> None:
    order = entity(held_from)
    fire(ORDER, order, "hold")
    order.held_from = held_from
    assert fire(ORDER, order, "release_hold") == held_from


def test_release_hold_with_unknown_origin_goes_to_received() -> None:
    assert fire(ORDER, entity("ONHOLD"), "release_hold") == "RECEIVED"


# --- the shared machine ------------------------------------------------------------------------


@pytest.mark.parametrize("lifecycle", LIFECYCLES.values(), ids=LIFECYCLES.keys())
def test_no_auto_transitions(lifecycle: Lifecycle) -> None:
    machine = machine_for(lifecycle)
    assert not [name for name in machine.events if name.startswith("to_")]
    assert set(machine.events) == set(lifecycle.triggers)
    with pytest.raises(ValueError):
        fire(lifecycle, entity(lifecycle.states[0]), f"to_{lifecycle.states[-1]}")


def test_one_shared_machine_for_a_thousand_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = machine_for(LINE)
    events_before = dict(machine.events)
    built: list[object] = []
    real_init = transitions.Machine.__init__

    def counting_init(self: transitions.Machine, *args: object, **kwargs: object) -> None:
        built.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting_init)

    lines = [entity("NEW") for _ in range(1000)]
    for line in lines:
        fire(LINE, line, "allocate")
        fire(LINE, line, "ship")

    assert built == []
    assert machine_for(LINE) is machine
    assert machine.models == []
    assert machine.events == events_before
    assert {line.status for line in lines} == {"SHIPPED"}
    # No convenience methods patched onto the entities (that is what add_model would do).
    assert not hasattr(lines[0], "allocate")


def test_machine_settings() -> None:
    machine = machine_for(ORDER)
    assert machine.model_attribute == "status"
    assert machine.send_event is True
    assert machine.has_queue is False
    assert machine.ignore_invalid_triggers is False
    assert list(machine.states) == list(ORDER.states)


# --- pure lookups agree with fire ------------------------------------------------------------


@pytest.mark.parametrize("lifecycle", LIFECYCLES.values(), ids=LIFECYCLES.keys())
def test_can_fire_and_allowed_sources_agree_with_fire(lifecycle: Lifecycle) -> None:
    for status in lifecycle.states:
        for trigger in lifecycle.triggers:
            obj = entity(status, held_from="NEW")
            expected = can_fire(lifecycle, status, trigger)
            assert expected == (status in allowed_sources(lifecycle, trigger))
            assert expected == (trigger in triggers_from(lifecycle, status))
            if expected:
                new = fire(lifecycle, obj, trigger)
                assert is_transition(lifecycle, status, new)
            else:
                with pytest.raises(Refused):
                    fire(lifecycle, obj, trigger)
                assert obj.status == status


def test_lookup_examples() -> None:
    assert allowed_sources(ORDER, "cancel") == (
        "NEW",
        "RECEIVED",
        "ONHOLD",
        "LOGISTICS",
        "PARTIALLY_SHIPPED",
    )
    assert triggers_from(REFUND, "PENDING_RELEASE") == ("confirm", "fail", "cancel")
    assert triggers_from(ORDER, "CLOSED") == ()
    assert is_transition(ORDER, "ONHOLD", "NEW")
    assert is_transition(ORDER, "ONHOLD", "RECEIVED")
    assert not is_transition(ORDER, "SHIPPED", "CANCELLED")
    assert not can_fire(ORDER, "NEW", "no_such_trigger")
    with pytest.raises(ValueError):
        allowed_sources(ORDER, "no_such_trigger")


# --- diagrams --------------------------------------------------------------------------------


@pytest.mark.parametrize("lifecycle", LIFECYCLES.values(), ids=LIFECYCLES.keys())
def test_mermaid_has_every_declared_edge(lifecycle: Lifecycle) -> None:
    diagram = to_mermaid(lifecycle)
    assert diagram.startswith("stateDiagram-v2\n")
    edge_lines = {line.strip() for line in diagram.splitlines() if " : " in line and "-->" in line}
    declared = set()
    for spec in lifecycle.transitions:
        for src in spec.sources:
            declared.add((src, spec.dest))
            assert any(
                line.startswith(f"{src} --> {spec.dest} : ") and spec.trigger in line
                for line in edge_lines
            ), f"{src} -> {spec.dest} ({spec.trigger}) missing"
    assert len(edge_lines) == len(declared)  # one edge per source/dest


@pytest.mark.parametrize(
    ("lifecycle", "initial", "final"),
    [
        (ORDER, {"DRAFT"}, {"CLOSED", "CANCELLED"}),
        (LINE, {"NEW"}, {"RETURNED", "CANCELLED"}),
        (SHIPMENT, {"AWAITING_INVENTORY", "INVENTORY_ASSIGNED"}, {"SHIPPED", "CANCELLED"}),
        (RETURN, {"REQUESTED"}, {"APPROVED", "CANCELLED"}),
        (REFUND, {"REQUESTED"}, {"RELEASED", "CANCELLED"}),
    ],
    ids=LIFECYCLES.keys(),
)
def test_mermaid_initial_and_final_states(
    lifecycle: Lifecycle, initial: set[str], final: set[str]
) -> None:
    lines = [line.strip() for line in to_mermaid(lifecycle).splitlines()]
    assert {
        line.removeprefix("[*] --> ") for line in lines if line.startswith("[*] -->")
    } == initial
    assert {line.removesuffix(" --> [*]") for line in lines if line.endswith("--> [*]")} == final


def test_all_mermaid_has_a_section_per_lifecycle() -> None:
    text = all_mermaid()
    for name, lifecycle in LIFECYCLES.items():
        assert f"## {name.capitalize()}\n" in text
        assert to_mermaid(lifecycle) in text
    assert text.count("```mermaid") == len(LIFECYCLES) == 5


def test_module_exports_only_what_it_declares() -> None:
    assert set(machines.__all__) <= set(dir(machines))

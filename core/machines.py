"""The five lifecycles of Postsales (SPEC §3), declared once as data.

Each lifecycle is a frozen :class:`Lifecycle` (states + transitions). One shared
``transitions.Machine`` per lifecycle, built on first use, validates and performs a transition on
the plain ``status`` attribute of any entity (order, line, shipment, return, refund) — no
``add_model``, no Machine per object (STYLE.md pitfalls 1 to 3). The same declarations answer the
pure questions (``can_fire``, ``allowed_sources``…) and render the Mermaid diagrams.

Guards that depend on channel settings (e.g. "cancel is not allowed on hold") are rule plugins
consulted by the services before firing; the machines only hold what is true of every channel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs
from transitions import Machine, MachineError

from .errors import Refused

__all__ = [
    "LIFECYCLES",
    "LINE",
    "ORDER",
    "REFUND",
    "RETURN",
    "SHIPMENT",
    "Lifecycle",
    "TransitionSpec",
    "all_mermaid",
    "allowed_sources",
    "can_fire",
    "fire",
    "is_transition",
    "machine_for",
    "to_mermaid",
    "triggers_from",
]


class HasStatus(Protocol):
    """Anything whose lifecycle position is a ``status`` string (an ORM entity, a test double)."""

    status: str


@attrs.frozen
class TransitionSpec:
    """One declared transition: ``trigger`` moves an entity from any of ``sources`` to ``dest``.

    ``condition`` (optional) receives the entity and must return True for this transition to be
    taken; ``guard`` is its human wording, used in refusal reasons and diagrams. Several specs may
    share a trigger: the first whose source matches and whose condition holds wins.
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str
    condition: Callable[[Any], bool] | None = attrs.field(default=None, eq=False)
    guard: str | None = None


# eq=False: a lifecycle is a singleton declaration, so identity is the right equality, and the
# identity hash keeps the per-call machine lookup in ``fire`` cheap.
@attrs.frozen(eq=False)
class Lifecycle:
    """A state machine declared as data: its ``name``, ``states`` and ``transitions``.

    ``initial`` are the states an entity is created in (shown as ``[*] -->`` in diagrams);
    final states are derived: those with no outgoing transition.
    """

    name: str
    states: tuple[str, ...]
    transitions: tuple[TransitionSpec, ...]
    initial: tuple[str, ...]
    # Lookup tables derived once from the declaration (frozen class: set via object.__setattr__).
    _state_set: frozenset[str] = attrs.field(init=False, repr=False)
    _by_trigger: Mapping[str, tuple[TransitionSpec, ...]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        state_set = frozenset(self.states)
        if len(state_set) != len(self.states):
            raise ValueError(f"{self.name}: duplicate states in {self.states}")
        for state in self.initial:
            if state not in state_set:
                raise ValueError(f"{self.name}: initial state {state} is not declared")
        by_trigger: dict[str, list[TransitionSpec]] = {}
        for spec in self.transitions:
            for state in (*spec.sources, spec.dest):
                if state not in state_set:
                    raise ValueError(f"{self.name}.{spec.trigger}: unknown state {state}")
            by_trigger.setdefault(spec.trigger, []).append(spec)
        object.__setattr__(self, "_state_set", state_set)
        object.__setattr__(self, "_by_trigger", {t: tuple(s) for t, s in by_trigger.items()})

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every declared trigger, in declaration order."""
        return tuple(self._by_trigger)

    @property
    def final(self) -> tuple[str, ...]:
        """States with no outgoing transition (shown as ``--> [*]`` in diagrams)."""
        with_exit = {src for spec in self.transitions for src in spec.sources}
        return tuple(s for s in self.states if s not in with_exit)

    def specs(self, trigger: str) -> tuple[TransitionSpec, ...]:
        """The transitions declared for ``trigger``; ValueError if it is not declared."""
        try:
            return self._by_trigger[trigger]
        except KeyError:
            raise ValueError(
                f"{self.name} has no trigger {trigger!r}; declared: {', '.join(self.triggers)}"
            ) from None

    def has_state(self, status: str) -> bool:
        """Whether ``status`` is one of this lifecycle's states."""
        return status in self._state_set


def _t(trigger: str, sources: str, dest: str, **kw: Any) -> TransitionSpec:
    # "NEW, RECEIVED" -> ("NEW", "RECEIVED"): keeps the declarations below as readable as SPEC §3.
    return TransitionSpec(trigger, tuple(s.strip() for s in sources.split(",")), dest, **kw)


def _held_from_new(order: Any) -> bool:
    return getattr(order, "held_from", None) == "NEW"


def _held_from_elsewhere(order: Any) -> bool:
    # The "else" branch: an order held from RECEIVED, or one whose origin is unknown (e.g. imported
    # already on hold), goes back to RECEIVED rather than being stranded on hold.
    return not _held_from_new(order)


ORDER = Lifecycle(
    name="order",
    states=(
        *("DRAFT", "NEW", "RECEIVED", "ONHOLD", "LOGISTICS", "PARTIALLY_SHIPPED", "SHIPPED"),
        *("CLOSED", "CANCELLED"),
    ),
    initial=("DRAFT",),
    transitions=(
        _t("place", "DRAFT", "NEW"),
        _t("review", "NEW", "RECEIVED"),
        _t("hold", "NEW, RECEIVED", "ONHOLD"),
        _t("release_hold", "ONHOLD", "NEW", condition=_held_from_new, guard="held from NEW"),
        _t(
            "release_hold",
            "ONHOLD",
            "RECEIVED",
            condition=_held_from_elsewhere,
            guard="not held from NEW",
        ),
        _t("release", "NEW, RECEIVED", "LOGISTICS"),
        _t("ship_partially", "NEW, RECEIVED, LOGISTICS, PARTIALLY_SHIPPED", "PARTIALLY_SHIPPED"),
        _t("ship", "NEW, RECEIVED, LOGISTICS, PARTIALLY_SHIPPED", "SHIPPED"),
        _t("cancel", "NEW, RECEIVED, ONHOLD, LOGISTICS, PARTIALLY_SHIPPED", "CANCELLED"),
        _t("close", "SHIPPED", "CLOSED"),
    ),
)

LINE = Lifecycle(
    name="line",
    states=("NEW", "ALLOCATED", "PICKING", "SHIPPED", "RETURN_REQUESTED", "RETURNED", "CANCELLED"),
    initial=("NEW",),
    transitions=(
        _t("allocate", "NEW", "ALLOCATED"),
        _t("pick", "ALLOCATED", "PICKING"),
        _t("ship", "NEW, ALLOCATED, PICKING", "SHIPPED"),
        _t("request_return", "SHIPPED", "RETURN_REQUESTED"),
        _t("approve_return", "RETURN_REQUESTED", "RETURNED"),
        _t("cancel_return", "RETURN_REQUESTED", "SHIPPED"),
        _t("cancel", "NEW, ALLOCATED", "CANCELLED"),
    ),
)

SHIPMENT = Lifecycle(
    name="shipment",
    states=(
        *("AWAITING_INVENTORY", "INVENTORY_ASSIGNED", "RELEASED", "PACKING", "SHIPPED"),
        "CANCELLED",
    ),
    initial=("AWAITING_INVENTORY", "INVENTORY_ASSIGNED"),
    transitions=(
        _t("assign_inventory", "AWAITING_INVENTORY", "INVENTORY_ASSIGNED"),
        _t("release", "INVENTORY_ASSIGNED", "RELEASED"),
        _t("pick", "INVENTORY_ASSIGNED, RELEASED", "PACKING"),
        _t("ship", "AWAITING_INVENTORY, INVENTORY_ASSIGNED, RELEASED, PACKING", "SHIPPED"),
        _t("cancel", "AWAITING_INVENTORY, INVENTORY_ASSIGNED, RELEASED", "CANCELLED"),
    ),
)

RETURN = Lifecycle(
    name="return",
    states=("REQUESTED", "APPROVED", "CANCELLED"),
    initial=("REQUESTED",),
    transitions=(
        _t("approve", "REQUESTED", "APPROVED"),
        _t("cancel", "REQUESTED", "CANCELLED"),
    ),
)

REFUND = Lifecycle(
    name="refund",
    states=("REQUESTED", "PENDING_RELEASE", "RELEASED", "CANCELLED"),
    initial=("REQUESTED",),
    transitions=(
        _t("release", "REQUESTED", "PENDING_RELEASE"),
        _t("confirm", "PENDING_RELEASE", "RELEASED"),
        _t("fail", "PENDING_RELEASE", "REQUESTED"),
        _t("cancel", "REQUESTED, PENDING_RELEASE", "CANCELLED"),
    ),
)

LIFECYCLES: Mapping[str, Lifecycle] = {
    lc.name: lc for lc in (ORDER, LINE, SHIPMENT, RETURN, REFUND)
}


# --- the shared machines ---------------------------------------------------------------------

_MACHINES: dict[Lifecycle, Machine] = {}
_MACHINES_LOCK = threading.Lock()


def _condition(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    # send_event=True hands conditions an EventData; the declarations' conditions take the entity.
    return lambda event_data: check(event_data.model)


def _build_machine(lifecycle: Lifecycle, model: Any = None, initial: str | None = None) -> Machine:
    # model=None: the machine holds no model, so it never grows and never patches methods onto
    # entities. ``model``/``initial`` exist only so bench/machines.py can show the per-object cost.
    return Machine(
        model=model,
        states=list(lifecycle.states),
        transitions=[
            {
                "trigger": spec.trigger,
                "source": list(spec.sources),
                "dest": spec.dest,
                "conditions": [_condition(spec.condition)] if spec.condition else [],
            }
            for spec in lifecycle.transitions
        ],
        initial=initial or lifecycle.initial[0],
        auto_transitions=False,  # no to_<STATE> events: they would bypass every guard
        queued=False,  # a queue on a shared machine would be shared by all models and threads
        model_attribute="status",
        send_event=True,
        ignore_invalid_triggers=False,  # an invalid source must raise, so fire() can refuse
        name=f"{lifecycle.name} ",
    )


def machine_for(lifecycle: Lifecycle) -> Machine:
    """The one shared ``Machine`` of ``lifecycle``, built on first use (thread-safe).

    Exposed for tests and benchmarks; services call :func:`fire`.
    """
    machine = _MACHINES.get(lifecycle)
    if machine is None:
        with _MACHINES_LOCK:  # two threads racing on first use must not build two machines
            machine = _MACHINES.get(lifecycle)
            if machine is None:
                machine = _MACHINES[lifecycle] = _build_machine(lifecycle)
    return machine


def fire(lifecycle: Lifecycle, entity: HasStatus, trigger: str, *, label: str | None = None) -> str:
    """Perform ``trigger`` on ``entity.status`` and return the new status.

    Works on any object with a ``status`` attribute; the shared machine reads and sets it
    (``machine.events[trigger].trigger(entity)`` needs no ``add_model`` on transitions 0.9.3).
    No callbacks run: side effects belong to the service's unit of work (STYLE pitfall 4).

    Raises:
        ValueError: ``trigger`` is not declared for this lifecycle (a programming error).
        Refused: the status is not a source of ``trigger`` ("order is SHIPPED; cancel is allowed
            in NEW, RECEIVED, …"), or no transition's condition held. ``label`` (e.g. "line 2")
            replaces the lifecycle name in the reason.
    """
    specs = lifecycle.specs(trigger)
    who = label or lifecycle.name
    status = entity.status
    # transitions raises a bare ValueError for an unregistered state; to the user it is just a
    # status the trigger does not apply to.
    if not lifecycle.has_state(status):
        raise Refused(_source_reason(lifecycle, who, status, trigger))
    try:
        moved = machine_for(lifecycle).events[trigger].trigger(entity)
    except MachineError:
        # transitions' message names no allowed states; the declaration does.
        raise Refused(_source_reason(lifecycle, who, status, trigger)) from None
    if not moved:  # a failed condition is silent in transitions: it just returns False
        guards = [s.guard or "a condition" for s in specs if status in s.sources]
        raise Refused(f"{who} is {status}; {trigger} requires {' or '.join(guards)}")
    return entity.status


def _source_reason(lifecycle: Lifecycle, who: str, status: str, trigger: str) -> str:
    allowed = ", ".join(allowed_sources(lifecycle, trigger))
    return f"{who} is {status}; {trigger} is allowed in {allowed}"


# --- pure questions on the declarations --------------------------------------------------------


def can_fire(lifecycle: Lifecycle, status: str, trigger: str) -> bool:
    """Whether ``trigger`` is declared from ``status`` (sources only: conditions need the entity).

    An undeclared trigger answers False (asking is not a programming error; firing it is).
    """
    specs = lifecycle._by_trigger.get(trigger, ())
    return any(status in spec.sources for spec in specs)


def allowed_sources(lifecycle: Lifecycle, trigger: str) -> tuple[str, ...]:
    """The statuses ``trigger`` may be fired from, in the lifecycle's state order."""
    sources = {src for spec in lifecycle.specs(trigger) for src in spec.sources}
    return tuple(s for s in lifecycle.states if s in sources)


def triggers_from(lifecycle: Lifecycle, status: str) -> tuple[str, ...]:
    """The triggers declared from ``status``, in declaration order."""
    return tuple(t for t in lifecycle.triggers if can_fire(lifecycle, status, t))


def is_transition(lifecycle: Lifecycle, source: str, dest: str) -> bool:
    """Whether any declared transition goes from ``source`` to ``dest`` (for property tests)."""
    return any(spec.dest == dest and source in spec.sources for spec in lifecycle.transitions)


# --- diagrams ------------------------------------------------------------------------------------


def to_mermaid(lifecycle: Lifecycle) -> str:
    """A Mermaid ``stateDiagram-v2`` of ``lifecycle``, generated from its declaration.

    One edge per (source, dest), labelled with its trigger(s) and guard; ``[*]`` marks the
    initial and final states. Needs no graphviz.
    """
    edges: dict[tuple[str, str], list[str]] = {}
    for spec in lifecycle.transitions:
        text = f"{spec.trigger} [{spec.guard}]" if spec.guard else spec.trigger
        for src in spec.sources:
            edges.setdefault((src, spec.dest), []).append(text)
    lines = ["stateDiagram-v2"]
    lines += [f"    [*] --> {state}" for state in lifecycle.initial]
    lines += [f"    {src} --> {dest} : {', '.join(ts)}" for (src, dest), ts in edges.items()]
    lines += [f"    {state} --> [*]" for state in lifecycle.final]
    return "\n".join(lines) + "\n"


def all_mermaid() -> str:
    """Every lifecycle's diagram as Markdown: a ``## <Name>`` section with a mermaid block each."""
    sections = [
        f"## {name.capitalize()}\n\n```mermaid\n{to_mermaid(lifecycle)}```\n"
        for name, lifecycle in LIFECYCLES.items()
    ]
    return "\n".join(sections)

"""`param` declarations and the static schema they give (issue 13 item 1)."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from postsales.core.actions import ActionSpec, params_schema
from postsales.core.widgets import ADDRESS, LINES, MONEY, param


@attrs.frozen
class Params:
    lines: list[int] = param(LINES, label="Lines", eligible=lambda o, ln, ctx: None)
    amount: Decimal = param(MONEY, label="Amount", maximum=lambda o, ctx: Decimal(1),
                            maximum_text="left", line_field="lines")  # fmt: skip
    where: dict | None = param(ADDRESS, default=None, required_in_forms=True, max_length=9)


def test_the_schema_says_what_each_value_is_and_holds_no_callable() -> None:
    spec = ActionSpec(name="p", label="P", permission="x", run=lambda *a: None, params=Params)
    props = params_schema(spec)["properties"]
    assert props["lines"]["x-widget"] == "lines" and props["lines"]["title"] == "Lines"
    assert (
        props["amount"]["x-maximum-text"] == "left" and props["amount"]["x-line-field"] == "lines"
    )
    assert props["where"]["x-required-in-forms"] is True and props["where"]["maxLength"] == 9
    assert [f["label"] for f in props["where"]["x-address-fields"]][-1] == "Phone"
    assert not any(callable(v) for p in props.values() for v in p.values())


def test_an_unknown_widget_is_refused_at_declaration() -> None:
    with pytest.raises(ValueError, match="widget 'lnes': expected one of line, lines"):
        param("lnes")

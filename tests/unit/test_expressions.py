"""S-2 expressions compile through the whitelist into SQLAlchemy, with no database (unit)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from postsales.core.errors import BadInput
from postsales.core.search.compiler import Compiler
from postsales.core.search.expressions import compile_expression


def field(name: str) -> dict[str, Any]:
    return {"exp": "field", "args": [{"value": name}]}


def sql(expression: Any, dialect: str = "sqlite") -> str:
    comp = Compiler(dialect=dialect, channels=["ST1", "ST2"])
    cond = compile_expression(expression, comp)
    parts = [
        str(
            c.compile(
                dialect=sqlite.dialect() if dialect == "sqlite" else postgresql.dialect(),
                compile_kwargs={"literal_binds": True},
            )
        )
        for c in [*comp.fts, *([cond] if cond is not None else [])]
    ]
    return " AND ".join(parts)


def test_the_seed_example_compiles_to_a_bound_comparison() -> None:
    expr = {
        "exp": "ge",
        "args": [field("origin_date"), {"value": "2017-01-01T00:00:00+00:00", "type": "datetime"}],
    }
    text = sql(expr)
    assert "orders.origin_date >= '2017-01-01 00:00:00" in text


def test_values_are_bound_never_pasted_into_sql() -> None:
    comp = Compiler(dialect="sqlite")
    evil = "x' OR 1=1 --"
    cond = compile_expression(
        {"exp": "eq", "args": [field("client_order_reference"), {"value": evil}]}, comp
    )
    assert cond is not None
    compiled = cond.compile(dialect=sqlite.dialect())
    assert evil not in str(compiled) and evil in compiled.params.values()


def test_logic_and_child_tables() -> None:
    expr = {
        "exp": "or",
        "args": [
            {"exp": "in", "args": [field("status"), {"value": ["new", "ONHOLD"]}]},
            {"exp": "not", "args": [{"exp": "eq", "args": [field("sku"), {"value": "MJ01"}]}]},
        ],
    }
    text = sql(expr)
    assert "orders.status IN ('NEW', 'ONHOLD')" in text
    assert "orders.seq NOT IN (SELECT order_lines.order_seq" in text


def test_partial_text_uses_the_fts_table_on_sqlite_and_like_on_postgresql() -> None:
    expr = {"exp": "like", "args": [field("name"), {"value": "%tay"}]}
    assert "orders_fts.name_norm GLOB '*tay*'" in sql(expr)
    assert "orders.name_norm LIKE '%%tay%%'" in sql(expr, "postgresql")
    nested = {"exp": "or", "args": [expr, {"exp": "eq", "args": [field("zip"), {"value": "1"}]}]}
    assert "orders.seq IN (SELECT orders_fts.rowid" in sql(nested)


def test_a_date_is_a_day_in_the_users_zone() -> None:
    comp = Compiler(dialect="sqlite", timezone="Europe/Berlin")
    cond = compile_expression(
        {"exp": "eq", "args": [field("created_at"), {"value": "2026-07-01", "type": "date"}]}, comp
    )
    text = str(cond.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    assert "'2026-06-30 22:00:00" in text and "'2026-07-01 22:00:00" in text


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            {"exp": "gte", "args": [field("status"), {"value": "NEW"}]},
            "$.exp: unknown operator 'gte'",
        ),
        (
            {"exp": "eq", "args": [field("colour"), {"value": "red"}]},
            "$.args[0].args[0]: unknown field 'colour'",
        ),
        (
            {"exp": "eq", "args": [field("status"), {"value": "NEW", "type": "enum"}]},
            "$.args[1].type: unknown type 'enum'",
        ),
        (
            {"exp": "eq", "args": [field("status"), {"value": "NEW", "typ": "string"}]},
            "unknown key 'typ'",
        ),
        ({"exp": "eq", "args": [field("status")]}, "eq takes a field and one value"),
        (
            {"exp": "eq", "args": [{"value": "status"}, {"value": "NEW"}]},
            "the first argument must be",
        ),
        ({"exp": "and", "args": []}, "and needs a list of arguments"),
        (
            {"exp": "not", "args": [{"exp": "eq", "args": [field("zip"), {"value": "1"}]}] * 2},
            "not takes exactly one",
        ),
        (
            {"exp": "like", "args": [field("email"), {"value": "%@example.com"}]},
            "operator 'like' is not supported",
        ),
        ({"exp": "like", "args": [field("name"), {"value": "%ab"}]}, "at least 3 characters"),
        (
            {"exp": "eq", "args": [field("status"), {"value": "2026-01-01", "type": "datetime"}]},
            "status is not a time",
        ),
        (
            {"exp": "eq", "args": [field("created_at"), {"value": "soon", "type": "datetime"}]},
            "'soon' is not a date",
        ),
        ({"exp": "eq", "args": [field("status"), {"value": {"nested": 1}}]}, "is not a string"),
        ({"exp": "field", "args": [{"value": "status"}]}, "a field is compared"),
        ("eq", "expected an object"),
    ],
)
def test_errors_name_the_operator_field_type_and_place(expression: Any, message: str) -> None:
    with pytest.raises(BadInput) as info:
        compile_expression(expression, Compiler(dialect="sqlite"))
    assert message in info.value.message


def test_depth_is_bounded() -> None:
    expr: dict[str, Any] = {"exp": "eq", "args": [field("zip"), {"value": "1"}]}
    for _ in range(40):
        expr = {"exp": "not", "args": [expr]}
    with pytest.raises(BadInput, match="nested deeper than"):
        compile_expression(expr, Compiler(dialect="sqlite"))

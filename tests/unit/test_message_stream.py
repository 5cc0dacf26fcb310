"""Cutting a stream into messages (issue 18 item 2): every layout a user may hand to
`postsales import` gives the same messages with the right line numbers, each parsed once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postsales.core import message_stream
from postsales.core.message_stream import iter_documents

TRICKY = 'brackets { [ in "strings" } ] and a \\ backslash'


def envelopes(count: int) -> list[dict[str, Any]]:
    return [
        {"id": f"m{n}", "note": TRICKY, "lines": [{"n": n, "tags": [], "x": {}}]}
        for n in range(count)
    ]


def read(lines: list[str]) -> list[tuple[int, Any]]:
    return [
        (number, value["id"] if isinstance(value, dict) else value)
        for number, _raw, value in iter_documents(lines)
    ]


def layout(docs: list[dict[str, Any]], kind: str) -> list[str]:
    if kind == "jsonl":
        return [json.dumps(d) + "\n" for d in docs]
    if kind == "pretty":
        return [ln for d in docs for ln in (json.dumps(d, indent=2) + "\n").splitlines(True)]
    if kind == "array":
        return (json.dumps(docs, indent=2) + "\n").splitlines(True)
    if kind == "array-lines":
        return ["[\n", *(json.dumps(d) + ",\n" for d in docs[:-1]), json.dumps(docs[-1]) + "]\n"]
    return [json.dumps(docs) + "\n"]  # a one-line array


@pytest.mark.parametrize("kind", ["jsonl", "pretty", "array", "array-lines", "compact"])
def test_every_layout_gives_the_same_messages(kind: str) -> None:
    docs = envelopes(4)
    found = list(iter_documents(layout(docs, kind)))
    assert [value for _n, _raw, value in found] == docs
    assert [json.loads(raw) for _n, raw, _value in found] == docs


def test_each_message_is_numbered_by_its_first_line() -> None:
    pretty = layout(envelopes(3), "pretty")
    per_doc = len(pretty) // 3
    assert [n for n, _id in read(pretty)] == [1, 1 + per_doc, 1 + 2 * per_doc]
    assert [n for n, _id in read(layout(envelopes(3), "array"))] == [
        2,
        2 + per_doc,
        2 + 2 * per_doc,
    ]


@pytest.mark.parametrize("kind", ["jsonl", "pretty", "array"])
def test_each_message_is_parsed_once(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader used to re-join and re-parse a document after every line: 151 parses per
    message and quadratic in a file that is one array."""
    calls = []
    real = message_stream._loads

    def counting(text: str) -> Any:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(message_stream, "_loads", counting)
    assert len(read(layout(envelopes(50), kind))) == 50
    assert len(calls) == 50


def test_a_broken_document_is_refused_and_reading_goes_on() -> None:
    lines = [
        '{"id": "a",\n',  # never closed: the next object at column 0 starts a new message
        '{"id": "b"}\n',
        '{"id": "c", "x": "left open\n',  # a string cannot span lines
        '  "more": 1}\n',  # skipped with it
        '{"id": "d"}\n',
        "}\n",  # more closed than opened
        '{"id": "e"}\n',
        "{broken\n",
    ]
    assert read(lines) == [(1, None), (2, "b"), (3, None), (5, "d"), (6, None), (7, "e"), (8, None)]


def test_a_broken_element_of_an_array_is_refused_alone() -> None:
    lines = ["[\n", '  {"id": "a"},\n', "  }\n", '  {"id": "b"},\n', '  {"id": "c"}\n', "]\n"]
    assert read(lines) == [(2, "a"), (3, None), (4, "b"), (5, "c")]


def test_escaped_quotes_do_not_end_a_string() -> None:
    doc = {"id": "q", "note": 'say \\"}{\\" twice "}]"'}
    assert read(layout([doc, doc], "pretty")) == [(1, "q"), (5, "q")]


def test_a_lone_surrogate_is_read_not_a_crash() -> None:
    """A file read with surrogateescape may hold one; the envelope parser refuses it later."""
    assert read(['{"id": "a\ud800b"}\n', '{"id": "c"}\n']) == [(1, "a\ud800b"), (2, "c")]


def _line_by_line(lines: list[str]) -> list[tuple[int, str]]:
    """`iter_units` with every pretty-printed object read one line at a time, as before the
    whole-object cut (`_interior` still reads ahead, then hands every line back)."""
    real = message_stream._interior

    def never_whole(*args: Any) -> tuple[list[tuple[int, str]], bool]:
        return real(*args)[0], False

    message_stream._interior = never_whole  # type: ignore[assignment]
    try:
        return list(message_stream.iter_units(lines))
    finally:
        message_stream._interior = real


@pytest.mark.parametrize("kind", ["pretty", "array"])
def test_a_pretty_printed_object_is_cut_whole_not_line_by_line(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18 item 2: a pretty-printed order's 120 lines cost 1 µs each to cut one by one.
    Objects whose strings hold no escaped quote are cut in one go: only each closing line is
    read on its own."""
    docs = [{"id": f"m{n}", "note": "brackets { [ in a string } ]", "x": [{}, [1, {"y": []}]]}
            for n in range(5)]  # fmt: skip
    lines = layout(docs, kind)
    calls = []
    real = message_stream._depth

    def counting(line: str) -> tuple[int, bool]:
        calls.append(line)
        return real(line)

    monkeypatch.setattr(message_stream, "_depth", counting)
    found = list(iter_documents(lines))
    assert len(calls) == 5  # the closing lines; 5 times 17 lines read one by one before
    assert [value for _n, _raw, value in found] == docs
    assert list(message_stream.iter_units(lines)) == _line_by_line(lines)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(
        ["", "a", "{", "}]", '"', "\\", 'q"}', "é", "\t", "[x"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=12,
)  # fmt: skip
DAMAGE = st.sampled_from(
    ["{\n", "}\n", "  }\n", "  {\n", "[\n", "]\n", ",\n", '  "a": "open\n', '  "b": 1}, {\n', '"\n']
)


@settings(max_examples=400, deadline=None)
@given(
    docs=st.lists(st.dictionaries(st.sampled_from("idvw"), JSON_VALUES, max_size=4), max_size=4),
    indent=st.sampled_from([1, 2, 4, "\t"]),
    ascii_only=st.booleans(),
    as_array=st.booleans(),
    damage=st.lists(st.tuples(st.integers(0, 200), DAMAGE | st.just("")), max_size=3),
)
def test_the_whole_object_cut_agrees_with_line_by_line_reading(
    docs: list[dict[str, Any]],
    indent: int | str,
    ascii_only: bool,
    as_array: bool,
    damage: list[tuple[int, str]],
) -> None:
    """Whatever the file holds (pretty-printed objects or an array of them, any indent, escapes
    or raw UTF-8, lines broken, inserted or removed), the same messages with the same line
    numbers as reading every line on its own."""
    dump = lambda v: json.dumps(v, indent=indent, ensure_ascii=ascii_only)  # noqa: E731
    text = dump(docs) + "\n" if as_array else "".join(dump(d) + "\n" for d in docs)
    lines = text.splitlines(True)
    for at, line in damage:
        if lines:
            at %= len(lines)
            if line:
                lines.insert(at, line)
            else:
                del lines[at]
    assert list(message_stream.iter_units(lines)) == _line_by_line(lines)

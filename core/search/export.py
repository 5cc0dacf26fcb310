"""S-4 export: the whole current result (all pages, the chosen columns) as CSV or as Excel XML
(SpreadsheetML 2003), streamed in chunks with bounded memory.

Rows are read in chunks of `BATCH` in the search's order and written a chunk at a time, so
memory does not grow with the number of rows. The per-row Python is kept to one generated
cells function (columns.export_cells) and C calls: `csv.writer.writerows` on a chunk; for XML,
a whole chunk joined with separator characters XML cannot carry, escaped in one go and turned
into cells by two `str.replace`. On SQLite the rows are read as the driver gives them (plain
tuples: SQLite steps through the statement, nothing is buffered); on PostgreSQL through a
server-side cursor (`stream_results`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any
from xml.sax.saxutils import escape

from sqlalchemy import Connection, select

from ..persistence import tables as T
from . import columns as C
from .plans import Plan

o = T.orders.c

FORMATS = ("csv", "xml")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xml": "application/vnd.ms-excel"}
BATCH = 2000

XML_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:x="urn:schemas-microsoft-com:office:excel"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
<Styles><Style ss:ID="h"><Font ss:Bold="1"/></Style></Styles>
<Worksheet ss:Name="Orders">
<Table>
"""
XML_TAIL = "</Table>\n</Worksheet>\n</Workbook>\n"

# Characters XML 1.0 cannot carry at all; they are dropped from cells.
_XML_BAD = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))
# A chunk is escaped in one go: cells joined by \x1f, rows by \x1e (neither valid in XML, so
# neither can come from a cell that needs no cleaning; a chunk holding either, or any other
# control character, is written cell by cell instead).
_CELL_SEP = "\x1f"
_ROW_SEP = "\x1e"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1d]")
_OPEN = '<Row><Cell><Data ss:Type="String">'
_MID = '</Data></Cell><Cell><Data ss:Type="String">'
_CLOSE = "</Data></Cell></Row>\n"


def stream_chunks(conn: Connection, plan: Plan, keys: Sequence[str]) -> Iterator[Sequence[Any]]:
    """The rows of the export, `BATCH` at a time, as positional tuples (columns.export_columns)."""
    columns = C.export_columns(keys, conn.dialect.name)
    query = plan.order_by(plan.select(*columns))
    if conn.dialect.name == "sqlite" and plan.dated and not plan.fts and plan.sort_key == "arrival":
        # A time range: SQLite without statistics scans the whole table backwards for the
        # order (a month of a million orders: 736 ms of CPU); the range's `seq`s off the time
        # index, then the rows by primary key in order, cost a third of that.
        within = plan.select(o.seq)
        query = plan.order_by(select(*columns).where(o.seq.in_(within)))
    if plan.cap is not None:
        query = query.limit(plan.cap)
    if conn.dialect.name == "sqlite":
        # No `stream_results` here: SQLAlchemy would buffer a row ahead, and pysqlite already
        # steps through the statement lazily. The export selects raw columns (no result
        # processing), so the driver's tuples are the rows.
        result = conn.execute(query)
        cursor = result.cursor
        try:
            while rows := cursor.fetchmany(BATCH):
                yield rows
        finally:
            result.close()
        return
    # A server-side cursor is planned for its first tenth (cursor_tuple_fraction): for the
    # oldest 100,000 of a million orders that walked the 900,000 newer ones by primary key
    # first (0.65 s). An export reads every row: plan for all of them.
    conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
    streamed = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    yield from streamed.partitions()


def _xml_cell(value: str) -> str:
    return f'<Cell><Data ss:Type="String">{escape(value.translate(_XML_BAD))}</Data></Cell>'


def _xml_row(cells: list[str]) -> str:
    return "<Row>" + "".join(map(_xml_cell, cells)) + "</Row>\n"


def xml_header(labels: Sequence[str]) -> str:
    cells = "".join(
        f'<Cell ss:StyleID="h"><Data ss:Type="String">{escape(label)}</Data></Cell>'
        for label in labels
    )
    return f"{XML_HEAD}<Row>{cells}</Row>\n"


def xml_rows(rows: list[list[str]]) -> str:
    """SpreadsheetML rows for a chunk of cell lists."""
    if not rows:
        return ""
    joined = _ROW_SEP.join(map(_CELL_SEP.join, rows))
    if (
        not _CONTROL.search(joined)
        and joined.count(_ROW_SEP) == len(rows) - 1
        and joined.count(_CELL_SEP) == len(rows) * (len(rows[0]) - 1)
    ):
        body = escape(joined).replace(_CELL_SEP, _MID).replace(_ROW_SEP, _CLOSE + _OPEN)
        return _OPEN + body + _CLOSE
    return "".join(map(_xml_row, rows))


class _CsvChunks:
    """CSV text a chunk at a time, through one csv.writer over a reusable buffer.

    Every field is quoted (OWASP's CSV injection guidance, with the quote prefix of
    `columns.FORMULA_STARTS`): a spreadsheet that splits on `;` or `,` by locale then never
    starts a new cell, formula-like, in the middle of one."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, quoting=csv.QUOTE_ALL)

    def text(self, rows: Iterable[list[str]]) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerows(rows)
        return self.buffer.getvalue()


def encoded_chunks(
    chunks: Iterable[Sequence[Any]],
    keys: Sequence[str],
    cells: Callable[[Any], list[str]],
    fmt: str,
    counter: list[int] | None = None,
) -> Iterator[bytes]:
    """The export file as UTF-8 byte chunks (header, one chunk per `BATCH` rows, footer): for
    doors that stream a response. `counter[0]`, when given, counts the order rows handed out:
    a chunk is counted before it is yielded, so an export cut short is audited with every row
    that may have reached the client."""
    labels = [C.COLUMNS[k].label for k in keys]
    if fmt == "csv":
        csv_text = _CsvChunks()
        yield ("\ufeff" + csv_text.text([labels])).encode()  # BOM: Excel reads UTF-8 CSV
        for chunk in chunks:
            data = csv_text.text(map(cells, chunk)).encode()
            if counter is not None:
                counter[0] += len(chunk)
            yield data
        return
    yield xml_header(labels).encode()
    for chunk in chunks:
        data = xml_rows(list(map(cells, chunk))).encode()
        if counter is not None:
            counter[0] += len(chunk)
        yield data
    yield XML_TAIL.encode()


def write(
    chunks: Iterable[Sequence[Any]],
    keys: Sequence[str],
    cells: Callable[[Any], list[str]],
    fmt: str,
    out: IO[bytes],
) -> int:
    """Write the header and every row to `out`; returns the number of order rows written."""
    counter = [0]
    for data in encoded_chunks(chunks, keys, cells, fmt, counter):
        out.write(data)
    return counter[0]

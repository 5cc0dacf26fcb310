"""S-4 export: the whole current result (all pages, the chosen columns) as CSV or as Excel XML
(SpreadsheetML 2003), streamed row by row with bounded memory.

Rows are read with a streaming cursor (a server-side cursor on PostgreSQL; SQLite steps through
the statement) in the search's order, turned into cells, and written through a buffered writer:
memory does not grow with the number of rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any
from xml.sax.saxutils import escape

from sqlalchemy import Connection

from . import columns as C
from .query import Plan

FORMATS = ("csv", "xml")
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
# A row is escaped in one go, its cells joined by \x1f (itself never valid in XML).
_SEP = "\x1f"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1e]")
_CELL_OPEN = '<Row><Cell><Data ss:Type="String">'
_CELL_MID = '</Data></Cell><Cell><Data ss:Type="String">'
_CELL_CLOSE = "</Data></Cell></Row>\n"


def stream_rows(conn: Connection, plan: Plan, keys: Sequence[str]) -> Iterator[Any]:
    query = plan.order_by(plan.select(*C.export_columns(keys, conn.dialect.name)))
    if plan.cap is not None:
        query = query.limit(plan.cap)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    for rows in result.partitions():
        yield from rows


class _CsvWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        self.text.write("\ufeff")  # a BOM, so that Excel opens UTF-8 CSV as UTF-8
        self.row = csv.writer(self.text).writerow

    def header(self, labels: list[str]) -> None:
        self.row(labels)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


def _xml_cell(value: str) -> str:
    return f'<Cell><Data ss:Type="String">{escape(value.translate(_XML_BAD))}</Data></Cell>'


class _XmlWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
        self.text.write(XML_HEAD)

    def header(self, labels: list[str]) -> None:
        cells = "".join(
            f'<Cell ss:StyleID="h"><Data ss:Type="String">{escape(label)}</Data></Cell>'
            for label in labels
        )
        self.text.write(f"<Row>{cells}</Row>\n")

    def row(self, cells: list[str]) -> None:
        joined = _SEP.join(cells)
        if _CONTROL.search(joined) or joined.count(_SEP) != len(cells) - 1:
            self.text.write("<Row>" + "".join(map(_xml_cell, cells)) + "</Row>\n")
            return
        self.text.write(_CELL_OPEN + escape(joined).replace(_SEP, _CELL_MID) + _CELL_CLOSE)

    def close(self) -> None:
        self.text.write(XML_TAIL)
        self.text.flush()
        self.text.detach()


def write(
    rows: Iterator[Any],
    keys: Sequence[str],
    cells: Callable[[Any], list[str]],
    fmt: str,
    out: IO[bytes],
) -> int:
    """Write the header and every row; returns the number of order rows written."""
    writer = _CsvWriter(out) if fmt == "csv" else _XmlWriter(out)
    writer.header([C.COLUMNS[k].label for k in keys])
    row = writer.row
    written = 0
    try:
        for record in rows:
            row(cells(record))
            written += 1
    except BaseException:
        writer.text.flush()
        writer.text.detach()  # never let the wrapper close the caller's stream
        raise
    writer.close()
    return written

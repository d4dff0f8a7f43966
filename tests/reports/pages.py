"""Read the report tables out of the page and out of a CSV export, as lists of rows."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self.current = attrs["data-table"]
            self.tables[self.current] = []
        elif self.current and tag == "tr":
            self.row = []
        elif self.row is not None and tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.current = None
        elif tag in ("th", "td") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.current:
            self.tables[self.current].append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    """Each report table of the page by its key: the header row, then the data rows."""
    parser = _Tables()
    parser.feed(html)
    return {
        key: [row for row in rows if row != ["Nothing in this period."]]
        for key, rows in parser.tables.items()
    }


def csv_tables(text: str) -> list[list[list[str]]]:
    """The tables of a CSV export, in order: header row then data rows (titles dropped)."""
    tables, current = [], None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            current = None
        elif current is None:
            current = []
            tables.append(current)  # the title row starts a table; it is not kept
        else:
            # A cell that a spreadsheet would run as a formula is exported quoted with '.
            current.append([c[1:] if c[:2] in ("'=", "'+", "'-", "'@") else c for c in row])
    return tables

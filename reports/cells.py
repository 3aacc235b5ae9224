"""Label every table cell with its column (``data-label``), so a table folded into cards on a phone keeps saying
what each line is.

Done once over the rendered page rather than by hand in each template: every table, present and future, gets
it. The page is our own output (all data in it escaped), so its tags can be read with patterns: a column's
label is the text of its ``<thead>`` heading; in a table without one, a row's leading ``<th>`` labels its cells.
"""

from __future__ import annotations

import re

_TABLE = re.compile(r"(<table\b[^>]*>)(.*?)(</table>)", re.S)
_THEAD = re.compile(r"<thead\b[^>]*>(.*?)</thead>", re.S)
_ROW = re.compile(r"(<tr\b[^>]*>)(.*?)(</tr>)", re.S)
_CELL = re.compile(r"<(td|th)\b([^>]*)>", re.S)
_CELL_TEXT = re.compile(r"<(td|th)\b([^>]*)>(.*?)</\1>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SPAN = re.compile(r"\bcolspan=\"?(\d+)")


def label_cells(html: str) -> str:
    """``html`` with ``data-label`` on every ``<td>`` that has a heading to take it from."""
    return _TABLE.sub(lambda m: m.group(1) + _label_table(m.group(2)) + m.group(3), html)


def _label_table(body: str) -> str:
    head = _THEAD.search(body)
    columns = _columns(head.group(1)) if head else []
    start = head.end() if head else 0
    rows = _ROW.sub(lambda m: m.group(1) + _label_row(m.group(2), columns) + m.group(3), body[start:])
    return body[:start] + rows


def _columns(head: str) -> list[str]:
    """The heading of each column (a heading spanning columns labels each of them)."""
    row = _ROW.search(head)
    columns: list[str] = []
    for match in _CELL_TEXT.finditer(row.group(2) if row else head):
        columns += [_text(match.group(3))] * _span(match.group(2))
    return columns


def _label_row(row: str, columns: list[str]) -> str:
    if not columns:  # a table of rows headed by their own <th>: that heading labels the row's cells
        first = _CELL_TEXT.search(row)
        header = _text(first.group(3)) if first and first.group(1) == "th" else ""
        return _CELL.sub(lambda m: _with_label(m, header), row) if header else row
    position = 0
    pieces = []
    last = 0
    for match in _CELL.finditer(row):
        pieces.append(row[last:match.start()])
        label = columns[position] if position < len(columns) else ""
        pieces.append(_with_label(match, label))
        last = match.end()
        position += _span(match.group(2))
    pieces.append(row[last:])
    return "".join(pieces)


def _with_label(match: re.Match[str], label: str) -> str:
    tag, attributes = match.group(1), match.group(2)
    if tag != "td" or not label or "data-label=" in attributes:
        return match.group(0)
    return f'<td{attributes} data-label="{label}">'


def _text(cell: str) -> str:
    """A heading's text as an attribute value (already escaped by the template; quotes made safe)."""
    return " ".join(_TAG.sub(" ", cell).split()).replace('"', "&#34;")


def _span(attributes: str) -> int:
    match = _SPAN.search(attributes)
    return max(1, min(int(match.group(1)), 50)) if match else 1

"""CSV files meant for spreadsheets and LMSs: no cell is ever evaluated as a formula.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some a
leading tab or carriage return), so a student id such as ``=HYPERLINK(...)`` or a failure
message quoting ``-x`` would run as a formula when the instructor opens ``grades.csv``.
``spreadsheet_cell`` prefixes such text with ``'`` (OWASP's advice; spreadsheets show the
text as typed); plain numbers (``-1``, ``+2.5``) pass unchanged. The gradebook keeps the raw
values: only files written for spreadsheets go through here.
"""
import csv
import io
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_cell(value):
    """``value``, with text that a spreadsheet would evaluate prefixed by ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(row):
    """A CSV row (dict or sequence) with every cell made safe (see ``spreadsheet_cell``)."""
    if isinstance(row, dict):
        return {key: spreadsheet_cell(value) for key, value in row.items()}
    return [spreadsheet_cell(value) for value in row]


def csv_text(columns, rows):
    """``rows`` (dicts keyed by ``columns``) as the text of a CSV file safe for spreadsheets
    (write it with ``autograder.record.journal.write_atomic``)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    writer.writerows(spreadsheet_row(row) for row in rows)
    return text.getvalue()

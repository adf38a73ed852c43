"""Cells of CSV files that people open in a spreadsheet."""

from __future__ import annotations

# A cell starting like a formula would run as one when the file is opened in a spreadsheet (CSV
# injection): such cells get a leading apostrophe, as OWASP recommends.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a cell no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text

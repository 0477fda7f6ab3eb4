"""The CSV dialect rule (docs/files.md): which delimiter a file uses. Shared by the ingest readers
(lib/ingest/readers.py) and the store's in-place reads of lake files (lib/store/lake_read.py), so
both read a file the same way. Pure: the csv module only.
"""

from __future__ import annotations

import csv
from pathlib import Path

# The delimiters a CSV may use (docs/files.md): comma, semicolon, tab, pipe; comma by default.
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 20


def _sample_lines(path: Path) -> list[str]:
    """The header and the first few non-blank lines (decoded leniently: bytes are checked later)."""
    lines: list[str] = []
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        for line in fh:
            if line.strip():
                lines.append(line)
            if len(lines) > _SNIFF_LINES:
                break
    return lines


def _consistent(lines: list[str], delimiter: str) -> bool:
    """Header has >= 2 fields and every sampled line has as many (quoting respected)."""
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        return False
    width = len(rows[0])
    return width >= 2 and all(len(r) == width for r in rows[1:-1] or rows[1:])


def detect_delimiter(path: Path) -> str:
    """The CSV's delimiter: csv.Sniffer's guess among DELIMITERS on the header and the first
    lines, kept only if it splits every sampled line into as many fields as the header;
    otherwise the first such delimiter in DELIMITERS order; comma when none does (a
    one-column file). The last sampled line may be cut short, so it is not counted."""
    lines = _sample_lines(path)
    if not lines:
        return ","
    try:
        guess = csv.Sniffer().sniff("".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        guess = None
    if guess in DELIMITERS and _consistent(lines, guess):
        return guess
    return next((d for d in DELIMITERS if _consistent(lines, d)), ",")

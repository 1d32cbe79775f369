"""Lab result tables: one dated result per cell.

Discharge letters and lab printouts give serial results as a grid, either one row per date ("Date | Creat | Hb",
then "15-Feb-2023 | 1.44 H | 9.6 L") or one row per test ("Parameter  09.01.2023  14.06.2023", then
"Bilirubin (mg/dL)  2.6  2.9"). A cell's date is its row's (or column's) date, not the note's, and its unit is the
column's unit row or the test cell's "(unit)". The name-then-value reader of ``extractors.measurements`` cannot
see either, so the pipeline reads table blocks here and leaves them out of its dictionary pass.

Cells are split at "|" or at runs of two or more spaces; a cell belongs to the header cell it lines up with.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterator

from extractors.dates import DateExtractor
from extractors.measurements import LabExtractor, Measurement, _flag, _f

_VALUE = re.compile(r"(?P<qual>[<>≤≥]=?)?\s*(?P<val>\d+(?:[.,]\d+)?)\s*(?P<flag>(?-i:HH|LL|H|L)|\*+|↑|↓)?")
_UNIT_IN_NAME = re.compile(r"\s*[(\[]\s*(?P<unit>[^()\[\]]{1,14}?)\s*[)\]]\s*$")

Cell = tuple[int, int, str]  # start, end (absolute offsets), stripped text


def cells(text: str, start: int, end: int) -> list[Cell]:
    """The cells of the line text[start:end]: split at '|' when the line has one, else at 2+ spaces / tabs."""
    line = text[start:end]
    out = []
    if "|" in line:
        pos = 0
        for part in line.split("|"):
            stripped = part.strip()
            if stripped:
                lead = len(part) - len(part.lstrip())
                out.append((start + pos + lead, start + pos + lead + len(stripped), stripped))
            pos += len(part) + 1
        return out
    for m in re.finditer(r"\S+(?:[ ]\S+)*", line):
        out.append((start + m.start(), start + m.end(), m.group()))
    return out


def _column(cell: Cell, row_start: int, header: list[Cell], head_start: int, same_count: bool, i: int) -> int:
    """The header column a cell lines up with: by index when the row has as many cells as the header, else the
    header cell nearest to it on the line (offsets from each line's start)."""
    if same_count:
        return i
    mid = (cell[0] + cell[1]) / 2 - row_start
    return min(range(len(header)), key=lambda j: min(abs(mid - (header[j][0] - head_start)),
                                                    abs(mid - (header[j][1] - head_start)),
                                                    abs(mid - (header[j][0] + header[j][1]) / 2 + head_start)))


class LabTableReader:
    """Reads lab tables in a text window into dated ``Measurement`` records (rule ``labtable:<version>``)."""

    def __init__(self, labs: LabExtractor, dates: DateExtractor) -> None:
        self.labs = labs
        self.dates = dates
        self.version = labs.version
        self._names: dict[str, str] = {}
        self._exact: dict[str, str] = {}
        for alias, name, exact in labs.names():
            if exact:
                self._exact[exact] = name
            else:
                self._names[alias.lower()] = name

    # -- cells ----------------------------------------------------------------------------------------
    def test_name(self, cell: str) -> tuple[str | None, str | None]:
        """(canonical lab name, unit written in the cell) of a header / row-label cell such as 'Creat' or
        'Bilirubin (mg/dL)'; (None, None) when the cell names no test the lab vocabulary knows."""
        unit = None
        m = _UNIT_IN_NAME.search(cell)
        if m:
            unit, cell = m.group("unit"), cell[: m.start()]
        cell = cell.strip(" :*")
        name = self._exact.get(cell) or self._names.get(cell.lower())
        return (name, unit) if name else (None, None)

    def date_of(self, text: str, cell: Cell, note_date: dt.date | None, date_known: bool) -> dt.date | None:
        """The calendar date a cell holds when the cell is (almost) only that date."""
        found = [e for e in self.dates.find(text, cell[0], cell[1]) if e.kind == "absolute"]
        if len(found) != 1 or (found[0].end - found[0].start) < 0.7 * (cell[1] - cell[0]):
            return None
        e = self.dates.resolve(text, found, note_date, date_known, {})[0]
        return e.value if e.value is not None and e.precision == "day" else None

    @staticmethod
    def value_of(cell: str) -> tuple[float, str | None, str | None] | None:
        """(value, abnormal flag, qualifier) of a result cell ('1.42 H', '<0.5', '7.9'); None for '--' or text."""
        m = _VALUE.fullmatch(cell.strip())
        if m is None:
            return None
        return _f(m.group("val")), _flag(m.group("flag")), m.group("qual")

    # -- tables ---------------------------------------------------------------------------------------
    def run(self, text: str, start: int, end: int, note_date: dt.date | None = None, date_known: bool = True
            ) -> tuple[list[Measurement], list[tuple[int, int]]]:
        """The results of every lab table in text[start:end], and the spans of the table blocks (header to last
        row) so the caller reads nothing else there."""
        lines = list(self._lines(text, start, end))
        out: list[Measurement] = []
        blocks: list[tuple[int, int]] = []
        i = 0
        while i < len(lines):
            ls, le = lines[i]
            line = text[ls:le].strip()
            # (a header of three cells needs a '|' or a gap of two spaces / a tab: prose lines are skipped cheaply)
            head = cells(text, ls, le) if len(line) >= 8 and ("|" in line or "  " in line or "\t" in line) else []
            got = None
            if len(head) >= 3:
                got = self._by_rows(text, lines, i, head, note_date, date_known) or self._by_columns(
                    text, lines, i, head, note_date, date_known)
            if got:
                meas, last = got
                out += meas
                blocks.append((ls, lines[last][1]))
                i = last + 1
            else:
                i += 1
        return out, blocks

    @staticmethod
    def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
        pos = start
        while pos < end:
            nl = text.find("\n", pos, end)
            stop = end if nl < 0 else nl
            yield pos, stop
            pos = stop + 1

    def _by_rows(self, text, lines, i, head, note_date, date_known):
        """Header of test names, then one row per date (a unit row and a reference row may come between)."""
        tests = {j: self.test_name(c[2]) for j, c in enumerate(head) if j > 0}
        tests = {j: t for j, t in tests.items() if t[0]}
        if len(tests) < 2:
            return None
        units = {j: u for j, (_, u) in tests.items() if u}
        meas, last = [], i
        for k in range(i + 1, min(len(lines), i + 200)):
            row = cells(text, *lines[k])
            if not row:
                break  # a blank line ends the table
            day = self.date_of(text, row[0], note_date, date_known) if row[0][0] - lines[k][0] < 4 else None
            same = len(row) == len(head)
            if day is None:
                if row[0][2].lower().rstrip(":") in ("unit", "units", "einheit") or row[0][0] - lines[k][0] >= 4:
                    for n, c in enumerate(row):  # the unit row: one unit under each test
                        j = _column(c, lines[k][0], head, lines[i][0], same, n)
                        if j in tests and re.search(r"[A-Za-z%µ]", c[2]) and not self.value_of(c[2]):
                            units[j] = c[2]
                    last = k
                    continue
                if self.value_of(row[-1][2]) is None and len(row) < len(head) - 1:
                    break  # prose after the table
                last = k  # a reference-range row or a note under the header
                continue
            for n, c in enumerate(row[1:], start=1):
                j = _column(c, lines[k][0], head, lines[i][0], same, n)
                v = self.value_of(c[2]) if j in tests else None
                if v is not None:
                    meas.append(self._measurement(c, tests[j][0], v, units.get(j), day, row[0][2], "rows"))
            last = k
        return (meas, last) if meas else None

    def _by_columns(self, text, lines, i, head, note_date, date_known):
        """Header of dates, then one row per test ('Albumin (g/dL)  2.7  2.6 ...')."""
        days = {j: self.date_of(text, c, note_date, date_known) for j, c in enumerate(head) if j > 0}
        days = {j: d for j, d in days.items() if d}
        if len(days) < 2:
            return None
        meas, last = [], i
        for k in range(i + 1, min(len(lines), i + 200)):
            row = cells(text, *lines[k])
            if not row:
                break
            name, unit = self.test_name(row[0][2])
            if name is None:
                if all(self.value_of(c[2]) is None for c in row[1:]) or len(row) < 2:
                    break  # prose after the table
                last = k  # a row of a test the vocabulary does not know
                continue
            same = len(row) == len(head)
            for n, c in enumerate(row[1:], start=1):
                j = _column(c, lines[k][0], head, lines[i][0], same, n)
                v = self.value_of(c[2]) if j in days else None
                if v is not None:
                    meas.append(self._measurement(c, name, v, unit, days[j], head[j][2], "columns"))
            last = k
        return (meas, last) if meas else None

    def _measurement(self, c: Cell, name: str, v, unit, day: dt.date, date_text: str, layout: str) -> Measurement:
        value, flag, qual = v
        attrs = {"table": layout}
        if qual:
            attrs["qualifier"] = qual
        return Measurement(c[0], c[1], "LAB", name, value, unit, flag, attrs, f"labtable:{self.version}",
                           date=day, date_text=date_text)

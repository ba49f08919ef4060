"""Field mappings as a CSV file, AppFlow's format: one pair per line, `source field, destination field`
(a typed source may write `name|TYPE, destination`). No header row; blank lines are skipped.

`parse_mapping_csv` reads an uploaded file and answers either the whole mapping or every problem,
each with its line number; a caller applies nothing unless the list of problems is empty.
`mapping_csv` writes a mapping back in the same format (a download, then an upload, gives the
same mapping). Plain Python, no Django: the wizard's views call it and the tests drive it with
random bytes.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flows.engine.values import normalize_type

MAX_BYTES = 1024 * 1024  # AppFlow's limit for a mapping file
MAX_NAME = 256  # AppFlow's limit for a destinationField
_HEADER_WORDS = {"source", "source field", "source_field", "sourcefield"}


@dataclass(frozen=True)
class CsvProblem:
    line: int  # 1-based; 0 for the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class CsvMapping:
    """The result of reading a file: `pairs` (source, destination) in file order when `problems`
    is empty; when it is not, `pairs` is empty (nothing is applied from a file with problems)."""

    pairs: tuple[tuple[str, str], ...]
    problems: tuple[CsvProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_mapping_csv(data: bytes, source_fields: Mapping[str, str]) -> CsvMapping:
    """Read `data` (the uploaded bytes) against `source_fields` (name -> data type of the source
    object's fields). Never raises for any bytes: everything wrong is a CsvProblem."""
    if len(data) > MAX_BYTES:
        # the caller may have read only the first MAX_BYTES + 1 bytes: the size is not known here
        return _refused(0, f"the file is over 1 MB; a mapping file may be at most {MAX_BYTES:,} bytes. "
                           "Split it, or map the remaining fields by hand.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _refused(line, "the file is not UTF-8 text (byte "
                              f"0x{data[exc.start]:02x}). Save it as CSV UTF-8 and upload it again.")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return _refused(line, "the file holds a NUL character; it is not a text CSV file.")
    problems: list[CsvProblem] = []
    pairs: list[tuple[str, str]] = []
    destinations: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(CsvProblem(reader.line_num or line, f"the line cannot be read as CSV ({exc}); "
                                                                 "quote names that hold commas or quotes."))
            break
        line, next_line = _start_line(reader.line_num, row), reader.line_num + 1
        if not any(cell.strip() for cell in row):
            line = next_line
            continue
        if not pairs and not problems and _is_header(row, source_fields):
            line = next_line
            continue
        problem = _pair(row, source_fields, destinations, line, pairs)
        if problem:
            problems.append(problem)
        line = next_line
    if not problems and not pairs:
        problems.append(CsvProblem(0, "the file holds no mappings: write one pair per line, "
                                      "like: Name, account_name"))
    return CsvMapping(() if problems else tuple(pairs), tuple(problems))


def mapping_csv(pairs: Iterable[tuple[str, str]]) -> bytes:
    """The mapping as a CSV file that `parse_mapping_csv` reads back to the same pairs."""
    lines = [f"{_cell(source)},{_cell(destination)}\r\n" for source, destination in pairs]
    return "".join(lines).encode("utf-8")


def _cell(name: str) -> str:
    # csv's own writer leaves spaces at the ends of a name unquoted, and the reader (which skips
    # the space after a comma, as AppFlow's files have it) would then lose them: quote those too
    if name != name.strip() or any(c in name for c in ',"\r\n'):
        return '"' + name.replace('"', '""') + '"'
    return name


def _start_line(end_line: int, row: Sequence[str]) -> int:
    # a quoted cell may span lines; report the line the row starts on
    return end_line - sum(cell.count("\n") for cell in row)


def _is_header(row: Sequence[str], source_fields: Mapping[str, str]) -> bool:
    first = row[0].strip()
    return first.lower() in _HEADER_WORDS and first not in source_fields


def _pair(
    row: Sequence[str],
    source_fields: Mapping[str, str],
    destinations: dict[str, int],
    line: int,
    pairs: list[tuple[str, str]],
) -> CsvProblem | None:
    if len(row) != 2:
        return CsvProblem(line, f"expected 2 columns (source field, destination field), found {len(row)}. "
                                "Quote a name that holds a comma.")
    raw_source, raw_destination = row
    source = _source_name(raw_source, source_fields)
    destination = raw_destination.strip()
    if isinstance(source, CsvProblem):
        return CsvProblem(line, source.message)
    if not destination:
        return CsvProblem(line, f"the destination field name for {source} is empty.")
    problem = destination_name_problem(destination)
    if problem:
        return CsvProblem(line, problem)
    if destination in destinations:
        return CsvProblem(line, f'the destination field "{destination}" is already mapped on line '
                                f"{destinations[destination]}; each destination field takes one source.")
    destinations[destination] = line
    pairs.append((source, destination))
    return None


def destination_name_problem(name: str) -> str | None:
    """What is wrong with a destination field name, or None (shared with the manual form)."""
    if len(name) > MAX_NAME:
        return f"the destination field name is {len(name)} characters; at most {MAX_NAME}."
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "the destination field name holds a line break or another control character."
    return None


def _source_name(cell: str, source_fields: Mapping[str, str]) -> str | CsvProblem:
    if cell in source_fields:  # a name with spaces at its ends, quoted
        return cell
    name = cell.strip()
    if not name:
        return CsvProblem(0, "the source field name is empty.")
    if name in source_fields:
        return name
    if "|" in name:
        base, _, declared = name.rpartition("|")
        base, declared = base.strip(), declared.strip()
        if base in source_fields:
            have = source_fields[base]
            if declared and not _same_type(declared, have):
                return CsvProblem(0, f'{base} is {have} at the source, not "{declared}". Correct the type '
                                     "after | or leave it out.")
            return base
        name = base or name
    suggestion = _suggest(name, source_fields)
    return CsvProblem(0, f'the source object has no field "{_cut(name)}"{suggestion or "."}')


def _same_type(declared: str, have: str) -> bool:
    if declared.lower() == have.lower():
        return True
    mine = normalize_type(declared)
    return mine is not None and mine == normalize_type(have)


def _suggest(name: str, source_fields: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(name, list(source_fields), n=1)
    if not close:
        lowered = {f.lower(): f for f in source_fields}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return f'; did you mean "{close[0]}"?' if close else ""


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _refused(line: int, message: str) -> CsvMapping:
    return CsvMapping((), (CsvProblem(line, message),))

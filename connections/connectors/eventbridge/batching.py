"""How records become PutEvents calls: one event per record, at most 10 entries and 256 KB per
call, as EventBridge limits them. An entry's size is counted as AWS documents it (the UTF-8 bytes
of Source, DetailType and Detail, plus 14 for the Time field):
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
Pure Python: no AWS call here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_ENTRIES = 10
MAX_BYTES = 256 * 1024
TIME_BYTES = 14


@dataclass
class Entry:
    number: int  # the record's number in the run, from 1
    source: str
    detail_type: str
    detail: str  # JSON text

    @property
    def size(self) -> int:
        return (
            TIME_BYTES
            + len(self.source.encode())
            + len(self.detail_type.encode())
            + len(self.detail.encode())
        )

    def too_large(self) -> bool:
        return self.size > MAX_BYTES


def calls(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    """Entries grouped into PutEvents calls of at most MAX_ENTRIES entries and MAX_BYTES bytes
    (each entry is at most MAX_BYTES: larger ones are replaced by their S3 pointer first)."""
    group: list[Entry] = []
    size = 0
    for entry in entries:
        if group and (len(group) == MAX_ENTRIES or size + entry.size > MAX_BYTES):
            yield group
            group, size = [], 0
        group.append(entry)
        size += entry.size
    if group:
        yield group

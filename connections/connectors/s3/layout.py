"""Where a run's files go in the bucket: AppFlow's s3OutputFormatConfig turned into keys.

    <bucketPrefix>/<timestamp path>/<hierarchy>/<file name>

- timestamp path (prefixType PATH or PATH_AND_FILENAME): the run's start in UTC, to the
  granularity of prefixFormat: YEAR "2026", MONTH "2026/11", DAY "2026/11/21", HOUR
  "2026/11/21/13", MINUTE "2026/11/21/13/05".
- hierarchy (pathPrefixHierarchy, in the order given): EXECUTION_ID -> the execution id,
  SCHEMA_VERSION -> "schema-<n>" (Sluice has one schema version per flow document: 1). Without
  pathPrefixHierarchy the execution id is the last folder, as AppFlow does.
- partition folders (a Partition task): `field=value/` per key, after the hierarchy
  (fileformats/partitions.py), numbered from part-00000 in each folder.
- file name: part-00000.<ext>, prefixed by the execution id when no folder holds it (so runs
  sharing a folder never collide), with a timestamp suffix when prefixType is FILENAME or
  PATH_AND_FILENAME ("part-00000-2026-11-21T13-05.jsonl").
Keys are deterministic per execution, so a retried run overwrites its own files instead of
adding new ones: the timestamp is the execution's first attempt's start, kept in a run record
(run_record_key) until the execution publishes, so a retry an hour later still writes under the
first attempt's hour. A run's manifest sits next to its files: `_manifest.json` in a folder of its
own, `<executionId>-_manifest.json` in a shared one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PREFIX_TYPES = ("FILENAME", "PATH", "PATH_AND_FILENAME")
PREFIX_FORMATS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE")
HIERARCHY = ("EXECUTION_ID", "SCHEMA_VERSION")
_PATH_FORMATS = {
    "YEAR": "%Y",
    "MONTH": "%Y/%m",
    "DAY": "%Y/%m/%d",
    "HOUR": "%Y/%m/%d/%H",
    "MINUTE": "%Y/%m/%d/%H/%M",
}
_NAME_FORMATS = {
    "YEAR": "%Y",
    "MONTH": "%Y-%m",
    "DAY": "%Y-%m-%d",
    "HOUR": "%Y-%m-%dT%H",
    "MINUTE": "%Y-%m-%dT%H-%M",
}
STAGING_FOLDER = ".sluice-staging"


@dataclass(frozen=True)
class Layout:
    folder: str  # "" or ends with "/"
    file_stem: str  # e.g. "part" or "<executionId>-part"
    name_suffix: str  # e.g. "" or "-2026-11-21"
    extension: str
    manifest_key: str

    def file_key(self, number: int, partition: str = "") -> str:
        """The key of file `number`; `partition` is a folder of a Partition task ("a=1/b=x/")."""
        return f"{self.folder}{partition}{self.file_stem}-{number:05d}{self.name_suffix}.{self.extension}"

    @property
    def own_files_prefix(self) -> str:
        """Every key of this execution's unpartitioned files starts with this (to find stale ones)."""
        return f"{self.folder}{self.file_stem}-"

    @property
    def documents_prefix(self) -> str:
        """Where the files a source handed over go ("<folder>documents/", or
        "<folder><executionId>-documents/" in a folder runs share)."""
        return f"{self.folder}{self.file_stem.removesuffix('part')}documents/"

    def is_own_file(self, key: str) -> bool:
        """Whether `key` is a file of this execution, in the run's folder or a partition folder."""
        return key.startswith(self.folder) and key.rsplit("/", 1)[-1].startswith(f"{self.file_stem}-")


def layout(
    bucket_prefix: str, output: Mapping[str, Any], execution_id: str, started: datetime, extension: str
) -> Layout:
    prefix_config = output.get("prefixConfig") or {}
    prefix_type = prefix_config.get("prefixType")
    prefix_format = prefix_config.get("prefixFormat") or "DAY"
    hierarchy = prefix_config.get("pathPrefixHierarchy")
    parts = [p for p in bucket_prefix.strip("/").split("/") if p]
    if prefix_type in ("PATH", "PATH_AND_FILENAME"):
        parts += started.strftime(_PATH_FORMATS[prefix_format]).split("/")
    hierarchy = ["EXECUTION_ID"] if hierarchy is None else list(hierarchy)
    for level in hierarchy:
        parts.append(execution_id if level == "EXECUTION_ID" else "schema-1")
    folder = "".join(f"{p}/" for p in parts)
    own_folder = "EXECUTION_ID" in hierarchy
    stem = "part" if own_folder else f"{execution_id}-part"
    suffix = ""
    if prefix_type in ("FILENAME", "PATH_AND_FILENAME"):
        suffix = "-" + started.strftime(_NAME_FORMATS[prefix_format])
    manifest = f"{folder}_manifest.json" if own_folder else f"{folder}{execution_id}-_manifest.json"
    return Layout(folder, stem, suffix, extension, manifest)


def staging_prefix(bucket_prefix: str, execution_id: str) -> str:
    """Where a run's files wait until it ends well (removed on failure; cleared on a retry)."""
    parts = [p for p in bucket_prefix.strip("/").split("/") if p]
    return "".join(f"{p}/" for p in parts) + f"{STAGING_FOLDER}/{execution_id}/"


def uses_time(output: Mapping[str, Any]) -> bool:
    """Whether the keys depend on when the run started (prefixConfig.prefixType set)."""
    return (output.get("prefixConfig") or {}).get("prefixType") in PREFIX_TYPES


def run_record_key(bucket_prefix: str, execution_id: str) -> str:
    """Beside (not in) the run's staging prefix: the execution's first start, so every attempt
    of it writes under the same date path, and the keys a publish was writing when it died."""
    parts = [p for p in bucket_prefix.strip("/").split("/") if p]
    return "".join(f"{p}/" for p in parts) + f"{STAGING_FOLDER}/{execution_id}.json"


def pattern(output: Mapping[str, Any], extension: str) -> str:
    """The key pattern a person sees in the wizard, e.g. "prefix/2026/11/21/<execution id>/part-00000.csv"."""
    sample = layout("<bucketPrefix>", output, "<execution id>", datetime(2026, 11, 21, 13, 5), extension)
    return sample.file_key(0)


def check_output(output: Any) -> list[tuple[str, str]]:
    """Problems with s3OutputFormatConfig's prefixConfig and aggregationConfig."""
    if output is None:
        return []
    if not isinstance(output, Mapping):
        return [("s3OutputFormatConfig", "must be an object")]
    problems: list[tuple[str, str]] = []
    prefix = output.get("prefixConfig")
    if prefix is not None:
        if not isinstance(prefix, Mapping):
            problems.append(("s3OutputFormatConfig.prefixConfig", "must be an object"))
        else:
            where = "s3OutputFormatConfig.prefixConfig"
            if prefix.get("prefixType") not in (None, *PREFIX_TYPES):
                problems.append((f"{where}.prefixType", f"must be one of {', '.join(PREFIX_TYPES)}"))
            if prefix.get("prefixFormat") not in (None, *PREFIX_FORMATS):
                problems.append((f"{where}.prefixFormat", f"must be one of {', '.join(PREFIX_FORMATS)}"))
            levels = prefix.get("pathPrefixHierarchy")
            if levels is not None and (
                not isinstance(levels, list)
                or any(v not in HIERARCHY for v in levels)
                or len(set(levels)) < len(levels)
            ):
                problems.append(
                    (f"{where}.pathPrefixHierarchy", "must list EXECUTION_ID and/or SCHEMA_VERSION once each")
                )
    aggregation = output.get("aggregationConfig")
    if aggregation is not None:
        if not isinstance(aggregation, Mapping):
            problems.append(("s3OutputFormatConfig.aggregationConfig", "must be an object"))
        else:
            if aggregation.get("aggregationType") not in (None, "None", "SingleFile"):
                problems.append(
                    ("s3OutputFormatConfig.aggregationConfig.aggregationType", "must be None or SingleFile")
                )
            size = aggregation.get("targetFileSize")
            if size is not None and (
                not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100_000
            ):
                problems.append(
                    (
                        "s3OutputFormatConfig.aggregationConfig.targetFileSize",
                        "must be a whole number of MB, 1 to 100000",
                    )
                )
    return problems

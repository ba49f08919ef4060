"""Local files: CSV, JSON Lines and Parquet files in a folder of the machine Sluice runs on.

A connection names a root folder (`rootPath`), which must lie inside the folder Sluice is allowed
to use (`allowed_base()`). Entities are files or folders relative to the root; a folder stands for
every supported file under it. As a destination, each execution writes into
`<rootPath>/<entityName>/<executionId>/part-00000.<ext>`, built in a hidden sibling folder and
renamed into place when the run ends well, so no reader ever sees a partial output. A Partition
task splits the output into hive-style `field=value/` folders inside `<executionId>/`.

Decisions worth knowing:
- CSV values are read as text (as AppFlow's S3 CSV source does); a blank CSV cell is a null (a CSV
  has no other way to say "no value"), or "" with customProperties.blankCells EMPTY_TEXT.
- A CSV row with the wrong number of columns, or a JSON line that does not parse, is skipped and
  reported as a record failure with its line number; the run goes on.
- The files of one folder are aligned to the first file's columns: a missing column reads as
  null, extra columns are dropped; both are reported once per file as warnings in the run log.
- The default output fileType is JSONL: it keeps numbers, booleans and nulls that CSV would flatten
  to text, and stays readable, unlike Parquet.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import pyarrow as pa

from . import fencing, sourcefiles
from .base import (
    ConfigField,
    ConnectionInfo,
    Connector,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
    WriteResult,
)
from .fileformats import (
    BLANK_CELLS_KEY,
    BLANK_IS_NULL,
    FILE_TYPES,
    TableFileWriter,
    align_to_schema,
    arrow_to_data_type,
    blank_cells_problem,
    file_format,
    open_reader,
    open_writer,
    read_block_bytes,
    writing_to,
)
from .fileformats.partitions import Partitioner
from .localpaths import allowed_base, inside, is_within, root_folder, source_files
from .windowing import check_window_field, in_window, unreadable_warning

_FILE_TYPE_ALIASES = {"JSON": "JSONL", "NDJSON": "JSONL"}
_EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
DEFAULT_FILE_TYPE = "JSONL"

__all__ = ["DEFAULT_FILE_TYPE", "LocalFilesConnector", "allowed_base"]


class LocalFilesConnector(Connector):
    """Read and write CSV, JSON Lines and Parquet files under a folder on the Sluice machine."""

    connector_type: ClassVar[str] = "CustomConnector"
    connector_label: ClassVar[str] = "LocalFiles"
    properties_key: ClassVar[str] = "CustomConnector"
    display_name: ClassVar[str] = "Local files"
    description: ClassVar[str] = (
        "CSV, JSON Lines and Parquet files in a folder on the machine that runs Sluice. "
        "Read one file or a whole folder; write one folder of files per run."
    )
    can_be_source: ClassVar[bool] = True
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "none"
    caches_metadata: ClassVar[bool] = False  # cheap to ask, and should be current
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "rootPath",
            kind="path",
            label="Root folder",
            help="Absolute path of the folder this connection reads and writes. It must be inside "
            "the folder Sluice may use (SLUICE_LOCAL_FILES_BASE, by default the data folder).",
        ),
    )
    # Event: a signed webhook (e.g. "a file was dropped") makes it read its files now.
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled", "Event")
    write_operations: ClassVar[tuple[str, ...]] = ("INSERT",)
    partitions_output: ClassVar[bool] = True
    accepts_files: ClassVar[bool] = True  # e.g. Veeva Vault documents, under <executionId>/documents/

    # -- flow document properties -------------------------------------------------------------

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        return str(props.get("entityName") or "") if isinstance(props, Mapping) else ""

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        problems = _check_common(props) + _check_unknown(props, {"entityName", "customProperties"})
        custom = props.get("customProperties") if isinstance(props, Mapping) else None
        if isinstance(custom, Mapping):
            problems += [
                (f"customProperties.{k}", f"is not a Local files source property (only {BLANK_CELLS_KEY})")
                for k in custom if k != BLANK_CELLS_KEY
            ]
            if BLANK_CELLS_KEY in custom and (problem := blank_cells_problem(custom[BLANK_CELLS_KEY])):
                problems.append((f"customProperties.{BLANK_CELLS_KEY}", problem))
        return problems

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        problems = _check_common(props) + _check_unknown(
            props, {"entityName", "customProperties", "writeOperationType"}
        )
        if isinstance(props, Mapping) and props.get("writeOperationType") not in (None, "INSERT"):
            problems.append(
                (
                    "writeOperationType",
                    "must be INSERT for Local files (files are only added), "
                    f'not "{props["writeOperationType"]}"',
                )
            )
        custom = props.get("customProperties") if isinstance(props, Mapping) else None
        if isinstance(custom, Mapping):
            for key, value in custom.items():
                if key != "fileType":
                    problems.append(
                        (
                            f"customProperties.{key}",
                            "is not a property of a Local files destination (only fileType)",
                        )
                    )
                elif _file_type(value) is None:
                    problems.append(
                        (
                            "customProperties.fileType",
                            f'must be one of {", ".join(FILE_TYPES)}, not "{value}"',
                        )
                    )
        return problems

    # -- connection -----------------------------------------------------------------------------

    def test(self, conn: ConnectionInfo) -> None:
        """Check that rootPath exists, is a folder inside the allowed base, readable and writable."""
        root = root_folder(conn)
        if not os.access(root, os.R_OK | os.X_OK):
            raise ConnectorError(f"Sluice cannot read the folder {root}. Give its user read access.")
        if not os.access(root, os.W_OK):
            raise ConnectorError(f"Sluice cannot write in the folder {root}. Give its user write access.")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        """Supported files and sub-folders directly under rootPath/parent (hidden ones skipped)."""
        root = root_folder(conn)
        folder = inside(root, parent or "", "Folder") if parent else root
        if not folder.is_dir():
            raise ConnectorError(f'"{parent}" is not a folder under {root}.')
        entities = []
        for entry in sorted(os.scandir(folder), key=lambda e: (not e.is_dir(), e.name.lower())):
            path = Path(entry.path)
            if entry.name.startswith(".") or not is_within(Path(os.path.realpath(path)), root):
                continue  # hidden, or a link leaving the root folder: not offered
            rel = path.relative_to(root).as_posix()
            if entry.is_dir():
                entities.append(Entity(rel, entry.name, has_children=True))
            elif entry.is_file() and file_format(entry.name):
                entities.append(Entity(rel, entry.name))
        return entities

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        """The fields of the entity's first file: CSV columns as strings, JSONL/Parquet typed."""
        root = root_folder(conn)
        files = source_files(root, entity)
        reader = _open(root, files[0], read_block_bytes(), BLANK_IS_NULL)
        return [EntityField(f.name, arrow_to_data_type(f.type)) for f in reader.schema]

    # -- source ---------------------------------------------------------------------------------

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        """Stream the entity's files in order, aligned to the first file's columns (or `fields`).

        Filters are not pushed down (files have no query language); the engine applies them. An
        incremental window is applied here to `window.field`, read as a time: only records inside
        the window are passed on, so each scheduled run carries only what is new."""
        root = root_folder(conn)
        files = source_files(root, entity)
        block = read_block_bytes()
        target: pa.Schema | None = None
        filtering = bool(window.field) and not window.is_open
        # The timestamp field is read even when the flow does not map it, then dropped again.
        wanted = fields
        if filtering and fields is not None and window.field not in fields:
            wanted = [*fields, window.field]
        if not window.is_open and not window.field:
            yield SourceBatch(pa.table({}), warnings=[
                "This run has an incremental window but the flow names no timestamp field "
                "(sourceFlowConfig.incrementalPullConfig.datetimeTypeFieldName), so every record was read."
            ])
        blanks = _blank_cells(options)
        for path in files:
            reader = _open(root, path, block, blanks)
            if target is None and wanted is None and not reader.schema.names:
                # an empty file, or one whose every line failed: pass on its bytes and failures,
                # and let the next file decide the columns
                for batch in reader.batches(None):
                    batch.table = pa.table({})
                    yield batch
                continue
            if target is None:
                if filtering:
                    check_window_field(window, reader.schema.names, reader.name)
                target = _target_schema(reader, wanted)
            have = reader.schema.names
            missing = [n for n in target.names if n not in have]
            # with chosen fields, a file's other columns are expected: no warning for them
            extra = [n for n in have if n not in target.names] if fields is None else []
            warning = _alignment_warning(reader.name, missing, extra, target) if missing or extra else ""
            for batch in reader.batches(target.names):
                batch.table = align_to_schema(batch.table, target, name=reader.name)[0]
                if filtering:
                    batch.table, unreadable = in_window(batch.table, window)
                    if unreadable:
                        batch.warnings.append(unreadable_warning(unreadable, window, reader.name))
                    if wanted is not fields:
                        batch.table = batch.table.drop_columns([window.field])
                if warning:
                    batch.warnings.append(warning)
                    warning = ""
                yield batch

    # -- destination ----------------------------------------------------------------------------

    def write(
        self,
        conn: ConnectionInfo,
        entity: str,
        batches: Iterable[pa.Table],
        options: Mapping[str, Any],
    ) -> WriteResult:
        """Write the batches to <entity>/<executionId>/part-00000.<ext> atomically.

        options: the destination properties (customProperties.fileType, default JSONL) plus
        executionId, and partitionKeys from a Partition task: then each partition gets its own
        `field=value/` folders under <executionId>/ (fileformats/partitions.py). Files a source
        handed over (options["sourceFiles"]) go under <executionId>/documents/, in the same
        rename. A rerun of the same execution replaces its earlier output."""
        root = root_folder(conn)
        if not entity:
            raise ConnectorError("The destination needs an entityName: the folder to write into.")
        custom = options.get("customProperties") or {}
        wanted = custom.get("fileType") if isinstance(custom, Mapping) else None
        file_type = _file_type(wanted)
        if file_type is None:
            raise ConnectorError(
                f'customProperties.fileType must be one of {", ".join(FILE_TYPES)}, not "{wanted}".'
            )
        execution_id = str(options.get("executionId") or "")
        if not _EXECUTION_ID.fullmatch(execution_id):
            raise ConnectorError(
                f'"{execution_id}" cannot name an output folder: an executionId is letters, '
                "digits, '_', '-' and '.' (at most 128)."
            )
        folder = inside(root, entity, "entityName")
        if folder.exists() and not folder.is_dir():
            raise ConnectorError(f'entityName "{entity}" is a file under {root}; a destination is a folder.')
        with writing_to(folder):
            return self._write(folder, execution_id, file_type, batches, options)

    def _write(self, folder: Path, execution_id: str, file_type: str, batches: Iterable[pa.Table],
               options: Mapping[str, Any]) -> WriteResult:
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / execution_id
        # Each attempt stages apart: a frozen worker that wakes up after it was replaced must not
        # write into the folder of the attempt that replaced it (connectors/fencing.py).
        staging = folder / f".{execution_id}.{fencing.attempt()}.inprogress"
        _remove_staging(folder, execution_id)  # left by earlier attempts that died or were fenced
        staging.mkdir()
        name = f"part-00000.{FILE_TYPES[file_type]}"
        keys = options.get("partitionKeys") or []
        writers = _PartitionWriters(staging, name, file_type, keys)
        try:
            for table in batches:
                writers.write(table)
            size = writers.close()
            size += sourcefiles.copy_into(staging, sourcefiles.handed(options))  # same rename as the records
            _fsync_tree(staging)
            fencing.before_publish()  # a run that lost its lease deletes its staging instead
            _commit(staging, final)
        except BaseException:
            writers.abort()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return WriteResult(records_written=writers.records, bytes_written=size, location=str(final))


def _open(root: Path, path: Path, block: int, blanks: str) -> Any:
    name = path.relative_to(root).as_posix() if is_within(path, root) else path.name
    real = os.path.realpath(path)
    return open_reader(
        file_format(path.name) or "",
        lambda: pa.OSFile(real, "r"),
        name=name,
        size=os.path.getsize(real),
        block_size=block,
        blank_cells=blanks,
    )


def _blank_cells(options: Mapping[str, Any]) -> str:
    """customProperties.blankCells: what a blank CSV cell is (a null unless EMPTY_TEXT)."""
    custom = options.get("customProperties") or {}
    return str(custom.get(BLANK_CELLS_KEY) or BLANK_IS_NULL) if isinstance(custom, Mapping) else BLANK_IS_NULL


# -- reading ------------------------------------------------------------------------------------


def _target_schema(reader: Any, fields: list[str] | None) -> pa.Schema:
    if fields is None:
        return reader.schema
    missing = [f for f in fields if f not in reader.schema.names]
    if missing:
        quoted = ", ".join(f'"{m}"' for m in missing)
        available = ", ".join(reader.schema.names) or "(none)"
        raise MissingAtSource(
            f"{reader.name} has no field {quoted}. Available fields: {available}.",
            entity=reader.name, fields=missing,
        )
    return pa.schema([reader.schema.field(f) for f in dict.fromkeys(fields)])


def _alignment_warning(name: str, missing: list[str], extra: list[str], target: pa.Schema) -> str:
    parts = []
    if missing:
        parts.append(f"has no column {', '.join(missing)} (read as empty)")
    if extra:
        parts.append(f"has columns {', '.join(extra)} that the first file lacks (not read)")
    return f"{name} {' and '.join(parts)}; files are aligned to the columns {', '.join(target.names)}."


# -- writing ------------------------------------------------------------------------------------


def _file_type(value: Any) -> str | None:
    if value is None or value == "":
        return DEFAULT_FILE_TYPE
    text = str(value).strip().upper()
    text = _FILE_TYPE_ALIASES.get(text, text)
    return text if text in FILE_TYPES else None


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            _fsync_tree(path)  # partition folders
            continue
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    _fsync_dir(folder)


class _PartitionWriters:
    """One file for the run, or one per partition folder when partitionKeys are given."""

    def __init__(self, staging: Path, name: str, file_type: str, keys: list[str]):
        self.staging, self.name, self.file_type = staging, name, file_type
        self.partitioner = Partitioner(keys) if keys else None
        self.writers: dict[str, TableFileWriter] = {}

    def write(self, table: pa.Table) -> None:
        if self.partitioner is None:
            self._writer("").write(table)
            return
        for partition, rows in self.partitioner.split(table):
            self._writer(partition.folder).write(rows)

    def _writer(self, folder: str) -> TableFileWriter:
        writer = self.writers.get(folder)
        if writer is None:
            (self.staging / folder).mkdir(parents=True, exist_ok=True)
            writer = self.writers[folder] = open_writer(self.file_type, self.staging / folder / self.name)
        return writer

    @property
    def records(self) -> int:
        return sum(w.records for w in self.writers.values())

    def close(self) -> int:
        """Finish every file; returns the bytes written. A run that received no batch leaves no file."""
        return sum(writer.close() for writer in self.writers.values())

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_staging(folder: Path, execution_id: str) -> None:
    pattern = re.compile(rf"\.{re.escape(execution_id)}(\.\d+)?\.inprogress")
    for path in folder.iterdir():
        if pattern.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)


def _commit(staging: Path, final: Path) -> None:
    """Rename the staging folder into place; an earlier output of the same execution is replaced
    (renamed aside first, so the final name always holds one complete output)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.replaced-{time.time_ns()}")
        os.rename(final, old)
    os.rename(staging, final)
    _fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _check_common(props: Any) -> list[tuple[str, str]]:
    if not isinstance(props, Mapping):
        return [("", "must be an object with entityName")]
    problems: list[tuple[str, str]] = []
    entity = props.get("entityName")
    if entity is None or (isinstance(entity, str) and not entity.strip()):
        problems.append(("entityName", "is required"))
    elif not isinstance(entity, str):
        problems.append(("entityName", "must be a text path relative to the connection's root folder"))
    else:
        pure = PurePosixPath(entity.replace("\\", "/"))
        if pure.is_absolute() or os.path.isabs(entity) or entity.startswith("~"):
            problems.append(("entityName", "must be relative to the connection's root folder, not absolute"))
        elif ".." in pure.parts:
            problems.append(("entityName", 'must not contain ".."'))
    custom = props.get("customProperties")
    if custom is not None and not isinstance(custom, Mapping):
        problems.append(("customProperties", "must be an object of text values"))
    return problems


def _check_unknown(props: Any, known: set[str]) -> list[tuple[str, str]]:
    if not isinstance(props, Mapping):
        return []
    return [(k, "is not a property of Local files") for k in sorted(set(props) - known)]

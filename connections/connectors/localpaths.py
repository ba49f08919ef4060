"""Where Local files may read and write: the allowed base folder, a connection's root folder,
and entity paths that must stay inside it (no absolute paths, no "..", no links leading out)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .base import ConnectionInfo, ConnectorError
from .fileformats import file_format

_REPO_ROOT = Path(__file__).resolve().parents[2]


def allowed_base() -> Path:
    """The folder inside which every rootPath must lie, read at call time:
    env SLUICE_LOCAL_FILES_BASE, else env SLUICE_DATA_DIR, else <repo root>/data."""
    for name in ("SLUICE_LOCAL_FILES_BASE", "SLUICE_DATA_DIR"):
        value = os.environ.get(name, "").strip()
        if value:
            return Path(value).expanduser().absolute()
    return _REPO_ROOT / "data"


def root_folder(conn: ConnectionInfo) -> Path:
    """The connection's rootPath, resolved; refused unless it is an existing folder inside
    allowed_base()."""
    raw = str((conn.properties or {}).get("rootPath") or "").strip()
    base = Path(os.path.realpath(allowed_base()))
    if not raw:
        raise ConnectorError("The connection has no rootPath: set it to an absolute folder path.")
    if not os.path.isabs(raw):
        raise ConnectorError(f'rootPath "{raw}" is not absolute; write it from the top, like {base}/exports.')
    real = Path(os.path.realpath(raw))
    if not is_within(real, base):
        raise ConnectorError(
            f'rootPath "{raw}" is outside the folder Sluice may use ({base}). Choose a folder inside it, '
            "or have the administrator set SLUICE_LOCAL_FILES_BASE."
        )
    if not real.exists():
        raise ConnectorError(f'rootPath "{raw}" does not exist. Create the folder or correct the path.')
    if not real.is_dir():
        raise ConnectorError(f'rootPath "{raw}" is a file, not a folder.')
    return real


def inside(root: Path, rel: str, what: str) -> Path:
    """root/rel, refusing absolute paths, '..' and links that lead out of root."""
    text = str(rel).strip()
    pure = PurePosixPath(text.replace("\\", "/"))
    if os.path.isabs(text) or pure.is_absolute() or text.startswith("~"):
        raise ConnectorError(
            f'{what} "{text}" is an absolute path; paths are relative to the root folder {root}.'
        )
    if ".." in pure.parts:
        raise ConnectorError(f'{what} "{text}" contains ".."; paths must stay inside the root folder {root}.')
    real = Path(os.path.realpath(root / pure))
    if not is_within(real, root):
        raise ConnectorError(
            f'{what} "{text}" leads to {real}, outside the root folder {root} (through a symbolic '
            "link); links that leave the root folder are refused."
        )
    return real


def is_within(path: Path, folder: Path) -> bool:
    """Whether the resolved `path` is `folder` or lies under it."""
    return path == folder or folder in path.parents


def source_files(root: Path, entity: str) -> list[Path]:
    """The files an entity stands for: the file itself, or every supported file under the folder
    (recursive, hidden ones skipped) in sorted path order."""
    if not str(entity or "").strip():
        raise ConnectorError("The source needs an entityName: a file or folder under the root folder.")
    path = inside(root, entity, "entityName")
    if path.is_file():
        if not file_format(path.name):
            raise ConnectorError(
                f'"{entity}" is not a CSV, JSON Lines (.jsonl, .ndjson, .json) or Parquet file.'
            )
        return [path]
    if not path.is_dir():
        raise ConnectorError(f'"{entity}" does not exist under the root folder {root}.')
    files: list[Path] = []
    _collect(root, path, files, seen=set())
    if not files:
        raise ConnectorError(f'The folder "{entity}" holds no CSV, JSON Lines or Parquet files.')
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _collect(root: Path, folder: Path, files: list[Path], seen: set[Path]) -> None:
    if folder in seen:
        return  # a link back to a folder already read
    seen.add(folder)
    for entry in os.scandir(folder):
        if entry.name.startswith("."):
            continue
        real = Path(os.path.realpath(entry.path))
        if not is_within(real, root):
            raise ConnectorError(
                f'"{Path(entry.path).relative_to(root).as_posix()}" leads to {real}, outside the root '
                f"folder {root} (through a symbolic link); links that leave the root folder are refused."
            )
        if real.is_dir():
            _collect(root, real, files, seen)
        elif real.is_file() and file_format(entry.name):
            files.append(Path(entry.path))

"""Files a source hands over beside its records (base.SourceFile), as the file destinations
store them: under a `documents/` folder of the run's output, each at the relative name the
source gave it. Names are checked again here, whoever the source is: a name is a relative path
of plain parts, so a file can never land outside the run's folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .base import ConnectorError, SourceFile

FOLDER = "documents"


def handed(options: Mapping[str, Any]) -> list[SourceFile]:
    """The engine's list of the files handed over in this run: it fills up while the batches are
    read, so a destination looks at it once it has consumed them."""
    files = options.get("sourceFiles")
    return files if isinstance(files, list) else []


def checked_name(name: str) -> str:
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or "\\" in name or \
            any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise ConnectorError(f'A source handed over a file named "{name[:200]}", which is not a plain '
                             "relative path: nothing was published.")
    return "/".join(parts)


def copy_into(folder: Path, files: Iterable[SourceFile]) -> int:
    """Copy `files` under `folder`/documents/; the bytes copied."""
    total = 0
    for handed_file in files:
        target = folder / FOLDER / checked_name(handed_file.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(handed_file.path, target)
        total += handed_file.size
    return total

"""Document files with their metadata (AppFlow's "Document metadata and source files" and "Include
renditions"): for each document version a query page returns, its source file and, when asked,
every rendition, streamed to temporary files and handed to the engine beside the page's records
(base.SourceFile). The destination stores them under the run's `documents/` folder as
`<document id>/<major>.<minor>/source/<file name>` and
`<document id>/<major>.<minor>/renditions/<rendition type>/<file name>`.

Calls, from Veeva's Vault API reference (https://developer.veevavault.com/api/24.1/, Documents):
- Download Document Version File: `GET /api/{v}/objects/documents/{id}/versions/{major}/{minor}/file`
- Retrieve Document Version Renditions: `GET .../versions/{major}/{minor}/renditions` (renditionTypes)
- Download Document Version Rendition File: `GET .../versions/{major}/{minor}/renditions/{type}`
A download answers the file's bytes with `Content-Disposition: attachment;filename="..."`; a failure
answers Vault's JSON (client.VaultApi.download). Each file costs one API call (a rendition list one
more per version): the run's log says how many were made."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connections.connectors.base import ConnectorError, SourceFile

from .client import API_VERSION, VaultApi

VERSION_FIELDS = ("id", "major_version_number__v", "minor_version_number__v")
_RENDITION = re.compile(r"^[a-z0-9_]{1,100}$")


def wanted(source: Mapping[str, Any]) -> tuple[bool, bool]:
    """(source files, renditions) asked for in the source block."""
    return source.get("includeSourceFiles") is True, source.get("includeRenditions") is True


def fetch(api: VaultApi, rows: Sequence[Mapping[str, Any]], source_files: bool,
          renditions: bool) -> tuple[list[SourceFile], list[str]]:
    """The files of the document versions in `rows` (query rows holding VERSION_FIELDS), and
    warnings for the versions that have none. On a failure the files fetched so far are deleted."""
    files: list[SourceFile] = []
    warnings: list[str] = []
    try:
        for row in rows:
            doc_id, major, minor = (row.get(name) for name in VERSION_FIELDS)
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (doc_id, major, minor)):
                warnings.append(f"Veeva Vault document {doc_id!s:.40}: its id or version number is not a "
                                "number, so its files were not downloaded.")
                continue
            version = f"api/{API_VERSION}/objects/documents/{doc_id}/versions/{major}/{minor}"
            folder, named = f"{doc_id}/{major}.{minor}", f"document {doc_id} version {major}.{minor}"
            if source_files:
                try:
                    files.append(_download(api, f"{version}/file", f"{folder}/source",
                                           f"the source file of {named}"))
                except ConnectorError as exc:
                    if not exc.permanent:
                        raise  # busy or limited: the run retries later
                    # e.g. a placeholder document, which has no file: its metadata is still written
                    warnings.append(f"{exc.message} Its metadata was written without the file.")
            if renditions:
                listed = api.call("GET", f"{version}/renditions",
                                  f"the renditions of {named}")
                for kind in listed.get("renditionTypes") or []:
                    if not isinstance(kind, str) or not _RENDITION.match(kind):
                        warnings.append(f"Veeva Vault document {doc_id}: rendition type {str(kind)[:60]!r} "
                                        "is not a Vault name; it was skipped.")
                        continue
                    files.append(_download(api, f"{version}/renditions/{kind}",
                                           f"{folder}/renditions/{kind}",
                                           f"the {kind} rendition of {named}"))
    except BaseException:
        discard(files)
        raise
    return files, warnings


def discard(files: Sequence[SourceFile]) -> None:
    for handed in files:
        with contextlib.suppress(OSError):
            os.unlink(handed.path)


def _download(api: VaultApi, path: str, folder: str, what: str) -> SourceFile:
    descriptor, name = tempfile.mkstemp(prefix="sluice-veeva-")
    os.close(descriptor)
    target = Path(name)
    try:
        file_name = api.download(path, what, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return SourceFile(f"{folder}/{file_name}", str(target), target.stat().st_size)

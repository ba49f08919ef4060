"""The Preview of steps 3 and 4: the first records of the source through the draft's tasks, read
by a Celery worker (a slow source never holds up the page, which polls), stored as a DraftPreview
row. It reads through the real connection and writes nothing anywhere.

start_preview (web) -> run_preview_task (worker) -> run_preview: claim the row, read, run the
engine's preview (flows.engine.preview), store the result or a message a person can act on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone

from connections.connectors.base import ConnectorError, SourceBatch, Window
from flows import queue
from flows.engine import PlanError, RunError, compile_plan
from flows.engine.preview import DEFAULT_LIMIT, MAX_LIMIT, preview
from flows.models import DraftPreview, FlowDraft
from flows.run_endpoints import endpoint  # the same way a run finds its source

logger = logging.getLogger(__name__)
# How long a preview may read for; the worker's soft time limit is a little longer.
PREVIEW_SECONDS = 45
S = DraftPreview.Status


def start_preview(draft: FlowDraft, step: str, limit: int = DEFAULT_LIMIT) -> DraftPreview:
    """A new preview of the draft as saved now; the worker picks it up once this commits. Older
    previews of the draft are deleted: only the latest one is shown."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    with transaction.atomic():
        draft.previews.all().delete()
        row = DraftPreview.objects.create(draft=draft, step=step, limit=limit,
                                          document=draft.document or "{}")
        queue.run_preview(row.pk)
    return row


def run_preview(preview_id: str) -> None:
    """Run one preview (in the worker). Claims the row once: a second delivery does nothing."""
    if not DraftPreview.objects.filter(pk=preview_id, status=S.QUEUED).update(
            status=S.RUNNING, started_at=timezone.now()):
        return
    row = DraftPreview.objects.filter(pk=preview_id).first()
    if row is None:  # replaced by a newer preview meanwhile
        return
    try:
        result = _sample(row)
    except SoftTimeLimitExceeded:
        _finish(row, S.ERROR, message=_too_slow())
    except (ConnectorError, RunError, PlanError, _TooSlow) as exc:
        _finish(row, S.ERROR, message=str(getattr(exc, "message", "") or exc))
    except Exception:  # the page must say something, never spin forever; the log has the rest
        logger.exception("Preview %s failed", preview_id)
        _finish(row, S.ERROR, message="The preview failed unexpectedly; the worker's log has the details.")
    else:
        _finish(row, S.DONE, result=result)


def expire_stale(row: DraftPreview) -> DraftPreview:
    """A preview still queued or running well past its time (no worker, or a worker killed) is
    ended with a message, so the page stops waiting."""
    limit = timedelta(seconds=PREVIEW_SECONDS + 30)
    since = row.started_at or row.created_at
    if row.status in (S.QUEUED, S.RUNNING) and timezone.now() - since > limit:
        waited = "No worker picked the preview up" if row.status == S.QUEUED else _too_slow()
        DraftPreview.objects.filter(pk=row.pk, status=row.status).update(
            status=S.ERROR, finished_at=timezone.now(),
            message=waited + (": is a worker running?" if row.status == S.QUEUED else ""))
        row.refresh_from_db()
    return row


class _TooSlow(Exception):
    pass


def _too_slow() -> str:
    return (f"The source did not give its first records within {PREVIEW_SECONDS} seconds, so the preview "
            "stopped. Try again later; the flow itself is not limited to this time.")


def _sample(row: DraftPreview) -> dict:
    from flows.wizard import shape

    document = json.loads(row.document or "{}")
    source_config = shape.config(document, "source")
    if not source_config.get("connectorType"):
        raise ConnectorError("Choose the source in step 2 (Configure flow) first.")
    plan = compile_plan(document.get("tasks") or [{"taskType": "Map_all", "sourceFields": [""]}])
    source = endpoint(source_config)
    blocks = source_config.get("sourceConnectorProperties") or {}
    props = blocks.get(source.connector.properties_key) or next(iter(blocks.values()), {})
    entity = source.connector.entity_name(props)
    fields = list(plan.source_fields) if plan.source_fields is not None else None
    # No filters are pushed down: the preview shows what each filter leaves out.
    batches = source.connector.read(source.connection, entity, fields, [], Window(), props)
    result = preview(plan, _watched(row, batches), row.limit)
    return result.as_dict()


def _watched(row: DraftPreview, batches) -> Iterator[SourceBatch]:
    """The source's batches, with progress written to the row and the time limit checked between
    batches (Celery's soft time limit stops a source stuck inside one)."""
    deadline = time.monotonic() + PREVIEW_SECONDS
    read = 0
    iterator = iter(batches)
    try:
        for batch in iterator:
            read += batch.table.num_rows
            DraftPreview.objects.filter(pk=row.pk).update(records_read=min(read, row.limit))
            yield batch
            if time.monotonic() > deadline:
                raise _TooSlow(_too_slow())
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _finish(row: DraftPreview, status: str, *, result: dict | None = None, message: str = "") -> None:
    fields = {"status": status, "finished_at": timezone.now(), "message": message[:2000]}
    if result is not None:
        fields["result"] = json.dumps(result, ensure_ascii=False)
        fields["records_read"] = sum(1 for r in result["records"] if r["position"])
    DraftPreview.objects.filter(pk=row.pk).update(**fields)


# -- what the panel shows ------------------------------------------------------------------------


OUTCOME_WORDS = {"written": "written", "filtered": "filtered out", "dropped": "dropped by validation",
                 "stopped": "would stop the run", "failed": "failed"}


def panel(row: DraftPreview | None) -> dict | None:
    """The preview as the template shows it: cells in column order, counts, words."""
    if row is None:
        return None
    shown = {"row": row, "running": row.status in (S.QUEUED, S.RUNNING), "status": row.status,
             "message": row.message, "records_read": row.records_read, "limit": row.limit}
    if row.status != S.DONE:
        return shown
    data = json.loads(row.result or "{}")
    source_columns, result_columns = data.get("source_columns", []), data.get("result_columns", [])
    records = []
    filter_number = {f["task"]: n for n, f in enumerate(data.get("filters", []), start=1)}
    for r in data.get("records", []):
        source, result = r.get("source") or {}, r.get("result")
        reason = r.get("reason", "")
        if r["outcome"] == "filtered" and r.get("task") in filter_number:
            reason = f"by filter {filter_number[r['task']]}"  # the filters table says what it is
        records.append({
            "position": r["position"], "outcome": r["outcome"], "reason": reason,
            "words": OUTCOME_WORDS.get(r["outcome"], r["outcome"]),
            "source": [_cell(source.get(c)) for c in source_columns],
            "result": [_cell(result.get(c)) for c in result_columns] if result is not None else None,
        })
    counts = {k: sum(1 for r in records if r["outcome"] == k) for k in OUTCOME_WORDS}
    filters = [{**f, "number": n, "left_out": f["reached"] - f["kept"]}
               for n, f in enumerate(data.get("filters", []), start=1)]
    shown.update(records=records, source_columns=source_columns, result_columns=result_columns,
                 counts=counts, read=len(records), filters=filters, validations=data.get("validations", []),
                 plan=data.get("plan", ""))
    return shown


def _cell(value) -> str | None:
    if value is None:
        return None  # shown as a muted "null", apart from the text "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

"""The run pipeline: pure Python over Arrow batches, no Django (a test proves it).

    plan = compile_plan(document["tasks"])          # fails early on tasks it cannot run
    result = run_flow(document, source, destination, execution_id="...")

`run_flow` streams the source's batches through the plan's stages into the destination and
returns a RunResult ("Successful" or "Canceled"), or raises RunError with a message for a person.
What every task type and operator does, with examples the tests run: docs/engine.md.
"""

from __future__ import annotations

from .counters import Counters, RunResult
from .errors import PlanError, RunError
from .limits import RunLimits
from .plan import STAGE_ORDER, Plan, Stage, compile_plan
from .rejected import RejectedRecords
from .run import Endpoint, run_flow

__all__ = [
    "STAGE_ORDER",
    "Counters",
    "Endpoint",
    "Plan",
    "RejectedRecords",
    "PlanError",
    "RunError",
    "RunLimits",
    "RunResult",
    "Stage",
    "compile_plan",
    "run_flow",
]

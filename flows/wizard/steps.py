"""The wizard's steps, in order. A step's slug is its URL segment and its module's name."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    number: int


STEPS: tuple[Step, ...] = (
    Step("details", "Flow details", 1),
    Step("configure", "Configure flow", 2),
    Step("map", "Map data fields", 3),
    Step("filters", "Add filters", 4),
    Step("review", "Review and create", 5),
)
# Editing a flow: step 5 reviews the changes against the current version before they are saved
EDIT_TITLES = {"review": "Review changes"}
SLUGS: tuple[str, ...] = tuple(step.slug for step in STEPS)
FIRST = STEPS[0].slug


def get(slug: str) -> Step | None:
    return next((step for step in STEPS if step.slug == slug), None)


def titled(step: Step | None, editing: bool) -> Step | None:
    """`step` with the title it has when a flow is created, or edited."""
    if step is None or not editing or step.slug not in EDIT_TITLES:
        return step
    return replace(step, title=EDIT_TITLES[step.slug])


def index(slug: str) -> int:
    return SLUGS.index(slug) if slug in SLUGS else 0


def after(slug: str) -> Step | None:
    i = index(slug) + 1
    return STEPS[i] if i < len(STEPS) else None


def before(slug: str) -> Step | None:
    i = index(slug) - 1
    return STEPS[i] if i >= 0 else None


def later(a: str, b: str) -> str:
    """The further of two steps."""
    return a if index(a) >= index(b) else b


def may_visit(reached: str, slug: str) -> bool:
    """A step can be opened once every step before it was completed (saved valid)."""
    return index(slug) <= index(reached)

"""What every Sluice admin page shares: read-only model admins, times to the second, and a
paginator for the long lists (executions, the connection audit trail) that never counts a whole
table: it counts at most CAP rows (an index scan that stops there) and the page says "more than
10,000" past that — at 100,000 executions a full COUNT(*) on every page view cost more than the
page itself (bench/pages.py)."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.functional import cached_property

CAP = 10_000


class CappedPaginator(Paginator):
    cap = CAP

    @cached_property
    def count(self) -> int:
        # COUNT(*) over a LIMIT subquery: the database stops after cap + 1 rows. Unordered: which
        # rows are counted does not matter, and an ORDER BY would walk the sort index for nothing.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        """More rows than were counted: the list is longer than `count` says."""
        return self.count > self.cap


class ReadOnlyAdmin(admin.ModelAdmin):
    """Admins read here; they change nothing (no add, change, delete, or bulk actions): history is
    a record, and flows and connections change through the console, the API or the CLI, which
    validate and test them and keep their audit trail."""

    actions = None

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def seconds(value) -> str:
    """A time as the admin shows it: to the second (Django's default format drops the seconds)."""
    if value is None:
        return "-"
    return format_date(timezone.localtime(value), "Y-m-d H:i:s")


def time_column(field: str, label: str, *, sortable: bool = False):
    """A list/detail column showing the model's `field` with its seconds (a ModelAdmin attribute:
    the admin calls it as a method)."""

    @admin.display(description=label, ordering=field if sortable else None)
    def column(model_admin, obj):
        return seconds(getattr(obj, field))

    return column

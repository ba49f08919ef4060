"""The Demo CRM's records: Accounts, Contacts and Opportunities, generated, not stored.

Row i of an object is a pure function of i, and rows are ordered by their modified time, so paging
(an offset cursor) and the modified-since filter are arithmetic: any page of any size is cheap and
the same on every machine. Django-free."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
MAX_PAGE = 1000

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Donald", "Frances", "Tim",
         "Radia", "Linus", "Sophie", "Dennis", "Hedy", "John")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Knuth", "Allen",
        "Berners-Lee", "Perlman", "Torvalds", "Wilson", "Ritchie", "Lamarr", "Backus")
COMPANY = ("Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne",
           "Soylent", "Hooli", "Vandelay", "Wonka", "Gringotts", "Oceanic", "Aperture")
SUFFIX = ("Logistics", "Health", "Energy", "Foods", "Labs", "Systems", "Media", "Partners")
INDUSTRY = ("Technology", "Healthcare", "Energy", "Retail", "Finance", "Manufacturing")
STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")

# name -> (row count, minutes between two rows' modified times, fields as (name, type))
OBJECTS: dict[str, tuple[int, int, tuple[tuple[str, str], ...]]] = {
    "Accounts": (2000, 211, (
        ("id", "string"), ("name", "string"), ("industry", "string"), ("employees", "integer"),
        ("annual_revenue", "double"), ("city", "string"), ("created_at", "datetime"),
        ("modified_at", "datetime"),
    )),
    "Contacts": (3000, 149, (
        ("id", "string"), ("account_id", "string"), ("first_name", "string"), ("last_name", "string"),
        ("email", "string"), ("created_at", "datetime"), ("modified_at", "datetime"),
    )),
    "Opportunities": (1500, 307, (
        ("id", "string"), ("account_id", "string"), ("name", "string"), ("stage", "string"),
        ("amount", "double"), ("close_date", "date"), ("created_at", "datetime"), ("modified_at", "datetime"),
    )),
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def modified_at(obj: str, index: int) -> datetime:
    return EPOCH + timedelta(minutes=OBJECTS[obj][1] * (index + 1))


def row(obj: str, index: int) -> dict[str, Any]:
    count, _step, _fields = OBJECTS[obj]
    rnd = random.Random(f"{obj}:{index}")
    modified = modified_at(obj, index)
    created = modified - timedelta(days=rnd.randint(0, 90), minutes=rnd.randint(0, 600))
    common = {"created_at": iso(created), "modified_at": iso(modified)}
    if obj == "Accounts":
        return {
            "id": f"ACC-{index + 1:05d}",
            "name": f"{rnd.choice(COMPANY)} {rnd.choice(SUFFIX)}",
            "industry": rnd.choice(INDUSTRY),
            "employees": rnd.randint(5, 50_000),
            "annual_revenue": round(rnd.uniform(1e5, 5e8), 2),
            "city": rnd.choice(("Oslo", "Lyon", "Austin", "Kyoto", "Lagos", "Lima", "Perth")),
            **common,
        }
    account = f"ACC-{rnd.randint(1, OBJECTS['Accounts'][0]):05d}"
    if obj == "Contacts":
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        return {
            "id": f"CON-{index + 1:05d}", "account_id": account, "first_name": first, "last_name": last,
            "email": f"{first}.{last}{index}@example.com".lower(), **common,
        }
    return {
        "id": f"OPP-{index + 1:05d}", "account_id": account,
        "name": f"{rnd.choice(COMPANY)} {rnd.choice(('renewal', 'expansion', 'pilot', 'upgrade'))}",
        "stage": rnd.choice(STAGES), "amount": round(rnd.uniform(1e3, 2e6), 2),
        "close_date": (modified + timedelta(days=rnd.randint(-30, 120))).date().isoformat(), **common,
    }


def first_index_since(obj: str, since: datetime | None) -> int:
    """The first row modified at or after `since` (rows are in modified order)."""
    if since is None:
        return 0
    step = OBJECTS[obj][1]
    minutes = (since - EPOCH).total_seconds() / 60
    return max(0, math.ceil(minutes / step) - 1)


def page(obj: str, *, cursor: int = 0, limit: int = 200, modified_since: datetime | None = None
         ) -> tuple[list[dict[str, Any]], int | None]:
    """Rows from `cursor` (or from the first modified at/after `modified_since`), and the next
    cursor or None at the end."""
    count = OBJECTS[obj][0]
    start = max(cursor, first_index_since(obj, modified_since))
    end = min(count, start + max(1, min(limit, MAX_PAGE)))
    rows = [row(obj, i) for i in range(start, end)]
    return rows, (end if end < count else None)

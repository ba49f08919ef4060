"""Benchmark: what the permission check adds to the flow list (1,000 flows across 20 teams).

    .venv/bin/python bench/permissions.py [--flows 1000] [--teams 20] [--requests 200]

A private SQLite database under a temporary folder; the flow list page requested through the
Django test client (middleware, rules, template) by a superuser (no team filter, no role lookup)
and by a Viewer of one team (roles read, list filtered to 50 flows). Prints p50/p95 of both and
the difference. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="sluice-perm-bench-"))
    os.environ.update(SLUICE_VAR_DIR=str(run_dir), SLUICE_DATA_DIR=str(run_dir / "data"),
                      SECRET_KEY="bench-" + "x" * 40, FIELD_ENCRYPTION_KEY="0" * 43 + "=",
                      DJANGO_SETTINGS_MODULE="console.settings", ALLOWED_HOSTS="testserver")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Role, Team
    from flows.models import Flow, FlowVersion

    teams = [Team.objects.create(name=f"team-{n}") for n in range(args.teams)]
    Flow.objects.bulk_create(Flow(name=f"flow-{n:05}", team=teams[n % len(teams)])
                             for n in range(args.flows))
    side = {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectorProfileName": "files"}
    document = json.dumps({"sourceFlowConfig": side, "destinationFlowConfigList": [side]})
    FlowVersion.objects.bulk_create(FlowVersion(flow=flow, number=1, document=document)
                                    for flow in Flow.objects.all())
    for version in FlowVersion.objects.all():
        Flow.objects.filter(pk=version.flow_id).update(current_version=version)
    users = get_user_model().objects
    admin = users.create_superuser("root")
    viewer = users.create_user("viewer")
    Membership.objects.create(user=viewer, team=teams[0], role=Role.VIEWER)
    figures = {}
    for label, user in (("superuser (no check)", admin), ("team viewer", viewer)):
        client = Client()
        client.force_login(user)
        times = []
        for _ in range(args.requests + 10):
            start = time.perf_counter()
            assert client.get("/flows/").status_code == 200
            times.append((time.perf_counter() - start) * 1000)
        times = sorted(times[10:])  # the first requests warm caches
        figures[label] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
        print(f"{label:22} p50 {figures[label][0]:7.2f} ms   p95 {figures[label][1]:7.2f} ms")
    # The check alone, without the page around it (the page's own noise on a shared machine hides
    # a millisecond): read the roles, decide, narrow the list query, against the unnarrowed query.
    from accounts import access

    def p95(run) -> float:
        times = []
        for _ in range(args.requests):
            fresh = users.get(pk=viewer.pk)
            start = time.perf_counter()
            run(fresh)
            times.append((time.perf_counter() - start) * 1000)
        return sorted(times)[int(len(times) * 0.95) - 1]

    checked = p95(lambda u: (access.can(u, "view"),
                             list(access.visible(u, Flow.objects.order_by("name"))[:25])))
    plain = p95(lambda u: list(Flow.objects.order_by("name")[:25]))
    print(f"check alone: p95 {checked:.2f} ms vs the same list unchecked {plain:.2f} ms: "
          f"{checked - plain:+.2f} ms")
    added = figures["team viewer"][1] - figures["superuser (no check)"][1]
    print(f"added by the permission check, p95: {added:+.2f} ms (goal < 2 ms); "
          f"{args.flows} flows across {args.teams} teams")


if __name__ == "__main__":
    main()

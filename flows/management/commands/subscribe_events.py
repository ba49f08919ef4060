"""`manage.py subscribe_events`: the Salesforce event subscriber (flows/salesforce_events.py),
one process for every active event flow, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from flows import salesforce_events


class Command(BaseCommand):
    help = "Receive Salesforce events (Streaming API) for every active event flow and start their runs."

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            salesforce_events.run(stop)
        except KeyboardInterrupt:
            stop.set()

from __future__ import annotations

from django.core.management.base import BaseCommand

from console.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo data set, its Local files connection and the demo flow (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000, help="rows in the generated accounts.csv")

    def handle(self, *args, rows: int, **options):
        demo = seed_demo(rows=rows)
        self.stdout.write(f"Demo data: {demo['csv']}\nDemo flow: {demo['flow'].name}")

"""`./sluice up`: migrate, make sure an admin exists, seed the demo, then run the web server, a
Celery worker, a small worker for the control queue (schedule dispatch, reconciler), the Celery
beat scheduler and the Salesforce event subscriber together until Ctrl-C (which stops them all).
The subscriber is restarted when it dies (it resumes from each flow's committed replay id)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from connections.crypto import verify_encryption_key
from console import initial_password
from console.demo import seed_demo
from console.initial_password import admin_username

# gunicorn's access log without query strings or referrers: an OAuth callback's URL holds a code.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def boxed(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])


class Command(BaseCommand):
    help = (
        "Start Sluice until Ctrl-C: migrate the database, create the admin account (its generated "
        "password is printed once and kept in var/initial-admin-password until changed), seed the demo, "
        "then run the web server, a Celery worker, the control worker and Celery beat, on the configured "
        "DATABASE_URL and CELERY_BROKER_URL (embedded SQLite and filesystem broker without them)."
    )

    def add_arguments(self, parser):
        bind = os.environ.get("SLUICE_BIND", "127.0.0.1:8000")
        parser.add_argument(
            "--bind", default=bind, metavar="HOST:PORT",
            help=f"address the web server listens on (default: $SLUICE_BIND or 127.0.0.1:8000; now {bind}). "
                 "0.0.0.0:PORT listens on every interface; set ALLOWED_HOSTS to match.")
        parser.add_argument(
            "--no-demo", action="store_true",
            help="do not create the demo connection and flow (also: SLUICE_NO_DEMO=1)")
        parser.add_argument(
            "--concurrency", type=int, default=int(os.environ.get("SLUICE_WORKERS", 2)), metavar="N",
            help="runs the worker executes at once (default: $SLUICE_WORKERS or 2)")

    def handle(self, *args, bind: str, no_demo: bool, concurrency: int, **options):
        # The processes started below and the demo's OAuth registration read the address from here,
        # whether it came from --bind or the environment.
        os.environ["SLUICE_BIND"] = bind
        call_command("migrate", interactive=False, verbosity=0)
        verify_encryption_key()  # a wrong FIELD_ENCRYPTION_KEY stops here, before any process starts
        call_command("collectstatic", interactive=False, verbosity=0)
        self.ensure_admin()
        if not no_demo and not os.environ.get("SLUICE_NO_DEMO"):
            demo = seed_demo()
            self.stdout.write(f"Demo flow \"{demo['flow'].name}\" reads {demo['csv']}")
        self.run_processes(bind, concurrency)

    def ensure_admin(self) -> None:
        User = get_user_model()
        username = admin_username()
        if User.objects.filter(username=username).exists():
            if initial_password.path().exists():
                self.stdout.write(f"The admin password is still the generated one: {initial_password.path()}")
            return
        password = os.environ.get("SLUICE_ADMIN_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username, os.environ.get("SLUICE_ADMIN_EMAIL", ""), password)
        if generated:
            # In a box, so it stands out of the start-up lines; and in a file readable by this user
            # only, deleted at the first password change (console/initial_password.py).
            stored = initial_password.remember(password)
            self.stdout.write(self.style.WARNING(boxed([
                "Created the admin account",
                f"username: {username}",
                f"password: {password}",
            ])))
            self.stdout.write(f"The password is also in {stored} until you change it.")
        else:
            self.stdout.write(f"Created the admin account {username!r} from SLUICE_ADMIN_PASSWORD.")

    def run_processes(self, bind: str, concurrency: int) -> None:
        python = sys.executable
        commands = {
            "web": [python, "-m", "gunicorn", "console.wsgi", "--bind", bind, "--workers", "2",
                    "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT],
            "worker": [python, "-m", "celery", "-A", "console", "worker", "--loglevel", "INFO",
                       "--concurrency", str(concurrency)],
            # Dispatch and reconcile on their own queue: they are not held up by long runs.
            "control": [python, "-m", "celery", "-A", "console", "worker", "--loglevel", "INFO",
                        "--concurrency", "1", "--queues", settings.SLUICE_CONTROL_QUEUE,
                        "--hostname", "control@%h"],
            "beat": [python, "-m", "celery", "-A", "console", "beat", "--loglevel", "INFO",
                     "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
            # Salesforce event flows' subscriptions (flows/salesforce_events.py)
            "events": [python, "manage.py", "subscribe_events"],
        }
        processes = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"Sluice is up at http://{bind}/  (Ctrl-C stops it)"))
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        interrupted = False
        try:
            while not stopping:
                exited = [name for name, p in processes.items() if p.poll() is not None]
                if exited == ["events"]:
                    self.stderr.write("The event subscriber stopped unexpectedly; restarting it.")
                    processes["events"] = subprocess.Popen(commands["events"], cwd=settings.BASE_DIR)
                    continue
                if exited:
                    self.stderr.write(f"{', '.join(exited)} stopped unexpectedly; stopping Sluice.")
                    break
                time.sleep(0.5)
        except KeyboardInterrupt:
            interrupted = True
        if interrupted:
            # Ctrl-C reached the children too; a second signal in the middle of their own shutdown
            # can leave celery beat hanging, so let them finish first.
            self.wait_all(processes, seconds=10)
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name in self.wait_all(processes, seconds=20):
            self.stderr.write(f"The {name} process did not stop within 20 s; killing it.")
            processes[name].kill()
            processes[name].wait()
        self.stdout.write("Sluice stopped.")
        if not (stopping or interrupted):
            sys.exit(1)

    @staticmethod
    def wait_all(processes: dict[str, subprocess.Popen], seconds: float) -> list[str]:
        """Wait until every process has exited or the time is up; the names still running."""
        deadline = time.monotonic() + seconds
        for process in processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                pass
        return [name for name, process in processes.items() if process.poll() is None]

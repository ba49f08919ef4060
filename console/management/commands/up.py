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
from console.demo import seed_demo

# gunicorn's access log without query strings or referrers: an OAuth callback's URL holds a code.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


class Command(BaseCommand):
    help = "Start Sluice: web server, Celery worker and Celery beat, on the configured database and broker."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("SLUICE_BIND", "127.0.0.1:8000"))
        parser.add_argument("--no-demo", action="store_true", help="do not create the demo flow")
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("SLUICE_WORKERS", 2)))

    def handle(self, *args, bind: str, no_demo: bool, concurrency: int, **options):
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
        username = os.environ.get("SLUICE_ADMIN_USERNAME", "admin")
        if User.objects.filter(username=username).exists():
            return
        password = os.environ.get("SLUICE_ADMIN_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username, os.environ.get("SLUICE_ADMIN_EMAIL", ""), password)
        if generated:
            # Shown once, here only: it is not stored anywhere in clear.
            self.stdout.write(self.style.WARNING(
                f"Created the admin account: username {username!r}, password {password!r}. "
                "Note it now; it is not shown again."
            ))
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

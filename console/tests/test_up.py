"""`manage.py up` (what `./sluice up` runs) as a user runs it: a real web server, worker and beat."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "up exited before the web server answered"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_up_serves_runs_the_demo_and_stops_on_ctrl_c(tmp_path):
    # Its own embedded SQLite and filesystem broker, whatever this test run is configured with.
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env |= {
        "SLUICE_VAR_DIR": str(tmp_path / "var"),
        "SLUICE_DATA_DIR": str(tmp_path / "data"),
        "SLUICE_ADMIN_PASSWORD": "a long enough password",
        "SLUICE_WORKERS": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    port = free_port()
    up = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--bind", f"127.0.0.1:{port}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health/", up)
        run = subprocess.run(
            [sys.executable, "manage.py", "sluice", "start-flow", "--flow-name", "demo-accounts-to-jsonl",
             "--wait", "--timeout", "60"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=90,
        )
        assert run.returncode == 0, run.stderr
        record = json.loads(run.stdout)
        assert record["executionStatus"] == "Successful"
        assert record["executionResult"]["recordsProcessed"] == 10_000
        output = tmp_path / "data" / "demo" / "out" / "accounts" / record["executionId"] / "part-00000.jsonl"
        assert len(output.read_text().splitlines()) == 10_000
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(up.pid, signal.SIGINT)
        out, _ = up.communicate(timeout=60)
    assert "Created the admin account 'admin' from SLUICE_ADMIN_PASSWORD" in out
    assert "Sluice stopped." in out
    assert "celery beat" in out and "Booting worker" in out
    assert "did not stop" not in out
    # Beat's every-second dispatch tick and the control worker's answers are DEBUG lines: seconds of
    # idle time printed none of them (console/celery.py).
    # (The worker's start-up banner lists the task's name; its per-tick lines say "name[id]".)
    assert "Sending due task dispatch-schedules" not in out and "flows.tasks.dispatch_schedules[" not in out
    # Web server, worker and beat were all in up's process group: none may be left running.
    # (Zombies don't count: in a container whose init does not reap, they linger after exiting.)
    ps = subprocess.run(["ps", "-e", "-o", "pgid=,stat=,args="], capture_output=True, text=True).stdout
    leftovers = [line for line in ps.splitlines() if line.split()[0] == str(up.pid) and line.split()[1][0] != "Z"]
    assert leftovers == [], f"processes left running: {leftovers}"

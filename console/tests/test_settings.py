"""Settings behaviour that only shows when the process starts: run in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=base | env, capture_output=True, text=True
    )


def test_refuses_to_start_without_keys_when_debug_is_off(tmp_path):
    result = manage("check", env={"SLUICE_KEYS_FILE": str(tmp_path / "none.env"), "DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY and FIELD_ENCRYPTION_KEY are not set" in result.stderr
    assert "Traceback" not in result.stdout


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "SLUICE_KEYS_FILE": str(tmp_path / "none.env"),
        "SECRET_KEY": "k" * 30 + "Q9z!x@Lm#2pR$7wY^4vN&8sT*1bC(5dF",
        "FIELD_ENCRYPTION_KEY": "A" * 43 + "=",
        "SLUICE_HTTPS": "true",
        "ALLOWED_HOSTS": "sluice.example.com",
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generates_local_keys_once(tmp_path):
    keys = tmp_path / "keys.env"
    env = os.environ | {"SLUICE_KEYS_FILE": str(keys)}
    subprocess.run([sys.executable, "-m", "console.localkeys"], cwd=REPO, env=env, check=True)
    first = keys.read_text()
    subprocess.run([sys.executable, "-m", "console.localkeys"], cwd=REPO, env=env, check=True)
    assert keys.read_text() == first
    assert "SECRET_KEY=" in first and "FIELD_ENCRYPTION_KEY=" in first
    assert oct(keys.stat().st_mode & 0o777) == "0o600"

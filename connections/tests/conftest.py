from __future__ import annotations

import pytest

from connections.connectors.registry import CONNECTORS, get_connector_class
from connections.tests.fakes import PasswordConnector
from flows.tests.test_browser import page  # noqa: F401  (the Chromium page fixture)


@pytest.fixture
def password_connector(monkeypatch):
    """The test-only password connector, in the registry for one test."""
    get_connector_class.cache_clear()
    monkeypatch.setitem(CONNECTORS, "TestPassword", "connections.tests.fakes.PasswordConnector")
    yield PasswordConnector
    get_connector_class.cache_clear()


@pytest.fixture(autouse=True)
def _stop_demo_crm_servers():
    yield
    from connections.tests.local_server import stop_all

    stop_all()

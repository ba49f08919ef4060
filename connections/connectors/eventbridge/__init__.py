"""Amazon EventBridge as a destination: see connector.py."""

from .connector import EventBridgeConnector

__all__ = ["EventBridgeConnector"]

"""Slack (source): conversations (public and private channels), the messages of one conversation
(`conversations/<channel id>`) and users, through Slack's Web API with a user token from OAuth v2."""

from .connector import SlackConnector

__all__ = ["SlackConnector"]
